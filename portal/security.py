"""Access control, session lifetime, security headers and safe redirects.

Deny by default (security.md Z1): every view needs a signed-in, active person unless it is marked
`@public`; `@roles(...)` narrows a view to some roles. Both only set attributes on the view, and one
`before_request` hook enforces them, so the rule lives in a single, tested place.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import unquote, urlsplit

from flask import (
    Flask,
    Request,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.exceptions import Forbidden
from werkzeug.utils import cached_property

if TYPE_CHECKING:
    from portal.accounts.models import Role

F = TypeVar("F", bound=Callable)

# Views a person who must still set up their second factor may use (security.md S7).
SECOND_FACTOR_SETUP_ENDPOINTS = frozenset(
    {
        "accounts.second_factor",
        "accounts.second_factor_start",
        "accounts.second_factor_confirm",
        "accounts.logout",
        "core.set_language",
    }
)
# Form fields never carried across a sign-in: secrets and tokens.
_SECRET_FIELD_PARTS = ("password", "csrf", "token", "code", "secret")


def public(view: F) -> F:
    """Mark a view as reachable without signing in."""
    view.portal_public = True
    return view


def roles(*allowed: Role) -> Callable[[F], F]:
    """Limit a view to people holding one of these roles (403 for the others)."""

    def decorate(view: F) -> F:
        view.portal_roles = frozenset(allowed)

        @wraps(view)
        def wrapper(*args, **kwargs):
            # Also checked here so the rule holds even if the view is called outside the hook.
            if current_user.role not in allowed:
                raise Forbidden()
            return view(*args, **kwargs)

        wrapper.portal_roles = view.portal_roles
        return wrapper  # type: ignore[return-value]

    return decorate


def view_is_public(endpoint: str | None) -> bool:
    if endpoint is None or endpoint == "static":
        return True
    view = current_app.view_functions.get(endpoint)
    return bool(getattr(view, "portal_public", False))


def view_roles(endpoint: str) -> frozenset[Role] | None:
    return getattr(current_app.view_functions.get(endpoint), "portal_roles", None)


def is_safe_next(target: str | None) -> bool:
    """Only same-site relative paths are followed after sign-in (security.md B2)."""
    if not target or len(target) > 2000:
        return False
    # Decode repeatedly so encoded tricks (%2F%2F, %5C, %09) are judged as the browser would.
    decoded = target
    for _round in range(3):
        decoded = unquote(decoded)
    for candidate in (target, decoded):
        if not candidate.startswith("/") or candidate.startswith(("//", "/\\")):
            return False
        if "\\" in candidate:
            return False
        # Control, format and space characters never belong in a path a browser sent us.
        if any(unicodedata.category(ch)[0] in {"C", "Z"} for ch in candidate):
            return False
        parts = urlsplit(candidate)
        if parts.scheme or parts.netloc:
            return False
    return True


def safe_next(target: str | None, default_endpoint: str = "core.home") -> str:
    return target if is_safe_next(target) else url_for(default_endpoint)


def carried_fields() -> list[tuple[str, str]]:
    """The fields of the current POST worth keeping for the person: no secrets, no empties."""
    fields = []
    for name, values in request.form.lists():
        if any(part in name.lower() for part in _SECRET_FIELD_PARTS) or name.startswith("carry"):
            continue
        fields.extend((name, value) for value in values if value)
    return fields


def carry_from_login_form() -> tuple[str | None, list[tuple[str, str]]]:
    """Read back the work a sign-in form carries (hidden `carry_action` and `carry-*` fields)."""
    action = request.form.get("carry_action")
    if not is_safe_next(action):
        return None, []
    fields = [
        (name.removeprefix("carry-"), value)
        for name, values in request.form.lists()
        if name.startswith("carry-")
        for value in values
    ]
    return action, fields


def preserved_form_response(reason: str):
    """Answer a POST that cannot be accepted as it stands without losing what was typed (S4)."""
    from portal.accounts.forms import LoginForm

    if request.endpoint == "accounts.login":
        # The sign-in form itself expired: show it again, keeping the address and carried work.
        action, fields = carry_from_login_form()
        form = LoginForm(formdata=None, email=request.form.get("email", "")[:254])
        notice = _("The sign-in page was open for a long time. Please enter your password again.")
        return (
            render_template(
                "accounts/login.html",
                form=form,
                carry_action=action,
                carry_fields=fields,
                notice=notice,
            ),
            400,
        )
    fields = carried_fields()
    if not current_user.is_authenticated:
        if reason == "expired":
            notice = _("For your safety, you were signed out. Sign in again to send your work.")
        else:
            notice = _("Please sign in to continue. What you wrote is kept and can be sent after.")
        return (
            render_template(
                "accounts/login.html",
                form=LoginForm(formdata=None),
                carry_action=request.path,
                carry_fields=fields,
                notice=notice,
            ),
            401,
        )
    return (
        render_template("core/resubmit.html", action=request.path, fields=fields, reason=reason),
        400,
    )


def _session_expired(now: float) -> bool:
    config = current_app.config
    signed_in_at = session.get("signed_in_at", 0)
    seen_at = session.get("seen_at", 0)
    return (
        now - seen_at > config["PORTAL_SESSION_IDLE_MINUTES"] * 60
        or now - signed_in_at > config["PORTAL_SESSION_MAX_HOURS"] * 3600
    )


def start_session_clock() -> None:
    now = int(time.time())
    session["signed_in_at"] = now
    session["seen_at"] = now
    session.permanent = True


def enforce_session_lifetime():
    """Sign out sessions that sat idle too long or outlived their absolute lifetime (S4)."""
    if request.endpoint == "static" or not current_user.is_authenticated:
        return None
    now = int(time.time())
    if _session_expired(now):
        logout_user()
        locale = session.get("locale")
        session.clear()
        if locale:
            session["locale"] = locale
        session["expired"] = True
        return None
    session["seen_at"] = now
    return None


def enforce_access():
    """The one place that decides whether a request may reach its view (Z1, Z2)."""
    endpoint = request.endpoint
    if view_is_public(endpoint):
        return None
    if not current_user.is_authenticated:
        expired = session.pop("expired", False)
        if request.method == "POST" and request.form:
            return preserved_form_response(reason="expired" if expired else "signin")
        if expired:
            flash(
                _("For your safety, you were signed out after a period without activity."), "info"
            )
        else:
            flash(_("Please sign in to continue."), "info")
        target = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("accounts.login", next=target))
    from portal.accounts.services import second_factor_required

    if (
        second_factor_required(current_user)
        and not current_user.has_second_factor
        and endpoint not in SECOND_FACTOR_SETUP_ENDPOINTS
    ):
        flash(_("Please set up your second factor before you continue."), "warning")
        return redirect(url_for("accounts.second_factor"))
    allowed = view_roles(endpoint)
    if allowed is not None and current_user.role not in allowed:
        raise Forbidden()
    return None


def content_security_policy() -> str:
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "form-action 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )


def set_security_headers(response):
    """Headers on every response, error pages and static files included (security.md B3, Z6)."""
    headers = response.headers
    headers["Content-Security-Policy"] = content_security_policy()
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), interest-cohort=()"
    if current_app.config["PORTAL_HSTS"]:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if request.endpoint != "static":
        # A view may say more (photo files: "private, no-store"), never less.
        if "no-store" not in headers.get("Cache-Control", ""):
            headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    return response


_CONTROL_CHARACTERS = dict.fromkeys(c for c in range(32) if chr(c) not in "\t\n\r")


class PortalRequest(Request):
    """A request whose form and query values carry no control characters.

    Nobody types a NUL or a bell; browsers do not send them; PostgreSQL refuses NUL in text.
    Dropping them here keeps everything else the person typed (security.md I3).
    """

    def _load_form_data(self) -> None:
        super()._load_form_data()
        self.form = _without_controls(self.form)

    @cached_property
    def args(self):
        return _without_controls(super().args)


def _without_controls(values: MultiDict) -> ImmutableMultiDict:
    return ImmutableMultiDict(
        [
            (key.translate(_CONTROL_CHARACTERS), value.translate(_CONTROL_CHARACTERS))
            for key, value in values.items(multi=True)
        ]
    )


def register_security(app: Flask) -> None:
    app.request_class = PortalRequest
    app.before_request(enforce_session_lifetime)
    app.before_request(enforce_access)
    app.after_request(set_security_headers)
