"""Signing in and out, sessions, one-time links and own account settings, via the test client."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, quote, urlsplit

import pyotp
import pytest
from flask_babel import force_locale, gettext

from portal.accounts import services
from portal.accounts.models import Role, TokenPurpose, User
from portal.extensions import db
from portal.models import utcnow
from tests.conftest import PASSWORD

NEW_PASSWORD = "another quite unusual passphrase"
COOKIE = "portal_session"
SAME_FAILURE = "That e-mail address and password do not match an active account. Please try again."


# Helpers -------------------------------------------------------------------------------------


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._current: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._current = {
                "action": attrs.get("action"),
                "method": attrs.get("method"),
                "fields": [],
            }
            self.forms.append(self._current)
        elif tag == "input" and self._current is not None and attrs.get("name"):
            self._current["fields"].append(
                (attrs["name"], attrs.get("value") or "", attrs.get("type"))
            )

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def forms_on(response) -> list[dict]:
    parser = _Forms()
    parser.feed(response.get_data(as_text=True))
    return parser.forms


def form_posting_to(response, action: str) -> dict:
    matches = [f for f in forms_on(response) if f["action"] == action]
    assert matches, f"no form posting to {action}"
    return matches[0]


def text(response) -> str:
    return response.get_data(as_text=True)


def html_lang(response) -> str:
    match = re.search(r'<html lang="([^"]+)"', text(response))
    assert match
    return match.group(1)


def path_of(response) -> str:
    return urlsplit(response.headers["Location"]).path


def cookie_value(client) -> str:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None, "no session cookie"
    return cookie.value


def replay(app, value: str):
    """Request the home page from a fresh browser that only holds a copied session cookie."""
    stranger = app.test_client()
    stranger.set_cookie(COOKIE, value)
    return stranger.get("/")


def translated(app, message: str, locale: str, **variables) -> str:
    with app.test_request_context(), force_locale(locale):
        return gettext(message, **variables)


def with_user(app, user_id: int, change) -> None:
    with app.test_request_context():
        change(db.session.get(User, user_id))
        db.session.commit()


def enable_second_factor(app, user_id: int) -> tuple[str, list[str]]:
    """Turn on the second factor as of ten minutes ago; return its secret and recovery codes."""
    with app.test_request_context():
        user = db.session.get(User, user_id)
        secret = services.begin_second_factor_setup(user)
        past = utcnow() - timedelta(minutes=10)
        codes = services.confirm_second_factor(user, pyotp.TOTP(secret).at(past), now=past)
        db.session.commit()
    return secret, codes


def is_signed_in(client) -> bool:
    response = client.get("/")
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and path_of(response) == "/login"
    return False


# Signing in ----------------------------------------------------------------------------------


def test_login_page_is_public(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert 'name="email"' in text(response) and 'name="password"' in text(response)


def test_sign_in_redirects_home_and_sets_a_safe_cookie(client, auth, consultant):
    response = auth.login("consultant@example.org")
    assert response.status_code == 302
    assert path_of(response) == "/"
    set_cookie = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE + "=")]
    assert len(set_cookie) == 1
    attributes = [part.strip().lower() for part in set_cookie[0].split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert not any(part.startswith("domain=") for part in attributes)
    home = client.get("/")
    assert home.status_code == 200
    assert "Welcome, Amara" in text(home)


def test_email_is_case_and_space_insensitive_at_sign_in(client, auth, consultant):
    assert auth.login("  CONSULTANT@Example.org ").status_code == 302
    assert is_signed_in(client)


def test_authenticated_pages_are_not_cached(client, auth, consultant):
    auth.login_as(consultant)
    for url in ["/", "/account"]:
        assert client.get(url).headers["Cache-Control"] == "no-store"


def _failure_page(response, email: str) -> str:
    body = text(response)
    # CSRF tokens carry a timestamp, so they differ between requests in different seconds.
    body = re.sub(r'(name="csrf_token"[^>]*value=")[^"]*"', r"\1", body)
    return body.replace(email, "EMAIL")


def test_unknown_wrong_and_deactivated_look_the_same(
    client, auth, make_user, consultant, deactivated
):
    make_user("consultant", email="pending@example.org", password=None)
    attempts = {
        "unknown": auth.login("nobody@example.org"),
        "wrong": auth.login("consultant@example.org", PASSWORD + "x"),
        "deactivated": auth.login("gone@example.org"),
        "pending": auth.login("pending@example.org", "whatever they try here"),
    }
    emails = {
        "unknown": "nobody@example.org",
        "wrong": "consultant@example.org",
        "deactivated": "gone@example.org",
        "pending": "pending@example.org",
    }
    statuses = {name: r.status_code for name, r in attempts.items()}
    assert set(statuses.values()) == {400}, statuses
    pages = {name: _failure_page(r, emails[name]) for name, r in attempts.items()}
    assert SAME_FAILURE in pages["unknown"]
    assert pages["wrong"] == pages["unknown"]
    assert pages["deactivated"] == pages["unknown"]
    assert pages["pending"] == pages["unknown"]
    assert not is_signed_in(client)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/account", "/account"),
        ("/account?tab=1", "/account"),
        ("//evil.example", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/%2F%2Fevil.example", "/"),
        ("/\tevil", "/"),
    ],
)
def test_next_is_followed_only_for_local_paths(client, consultant, target, expected):
    response = client.post_form(
        f"/login?next={quote(target, safe='')}",
        {"email": "consultant@example.org", "password": PASSWORD},
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    assert urlsplit(location).netloc in ("", "localhost")
    assert urlsplit(location).path == expected
    assert "evil" not in location


def test_protected_page_sends_to_sign_in_and_back(client, auth, consultant):
    response = client.get("/account")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login" and parse_qs(location.query) == {"next": ["/account"]}
    response = client.post_form(
        "/login?next=%2Faccount", {"email": "consultant@example.org", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/account"


def test_signed_in_person_visiting_login_goes_home(client, auth, consultant):
    auth.login_as(consultant)
    response = client.get("/login")
    assert response.status_code == 302 and path_of(response) == "/"


def test_session_is_replaced_at_sign_in(client, auth, consultant):
    with client.session_transaction() as sess:
        sess["planted"] = "attacker value"
    before = cookie_value(client)
    auth.login_as(consultant)
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["_user_id"].startswith(f"{consultant}:")
    assert cookie_value(client) != before


# Signing out and server-side revocation (S3) -------------------------------------------------


def test_logout_is_post_only(client, auth, consultant):
    auth.login_as(consultant)
    response = client.get("/logout")
    assert response.status_code == 405
    assert is_signed_in(client)
    response = auth.logout()
    assert response.status_code == 302 and path_of(response) == "/login"
    assert not is_signed_in(client)


def test_logout_without_csrf_token_does_not_sign_out(client, auth, consultant):
    auth.login_as(consultant)
    response = client.post("/logout", data={"csrf_token": "forged"})
    assert response.status_code == 400
    assert is_signed_in(client)


def test_cookie_copied_before_logout_no_longer_works(app, client, auth, consultant):
    auth.login_as(consultant)
    copied = cookie_value(client)
    assert replay(app, copied).status_code == 200  # the copy works while the session lives
    auth.logout()
    response = replay(app, copied)
    assert response.status_code == 302 and path_of(response) == "/login"


def test_cookie_copied_before_password_change_no_longer_works(app, client, auth, consultant):
    auth.login_as(consultant)
    copied = cookie_value(client)
    assert replay(app, copied).status_code == 200
    response = client.post_form(
        "/account/password",
        {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 302 and path_of(response) == "/account"
    response = replay(app, copied)
    assert response.status_code == 302 and path_of(response) == "/login"
    # The session that changed the password carries on.
    assert is_signed_in(client)


def test_cookie_copied_before_admin_ends_sessions_no_longer_works(
    app, client, auth, admin, consultant
):
    auth.login_as(consultant)
    copied = cookie_value(client)
    admin_client = app.test_client()
    admin_auth = type(auth)(admin_client, app)
    admin_auth.login_as(admin)
    assert replay(app, copied).status_code == 200
    response = admin_client.post_form(f"/admin/accounts/{consultant}/end-sessions")
    assert response.status_code == 302
    assert not is_signed_in(client)
    response = replay(app, copied)
    assert response.status_code == 302 and path_of(response) == "/login"
    # Ending sessions is not a lockout: the person can sign in again.
    assert auth.login("consultant@example.org").status_code == 302


def test_cookie_copied_before_deactivation_no_longer_works(app, client, auth, admin, consultant):
    auth.login_as(consultant)
    copied = cookie_value(client)
    admin_client = app.test_client()
    type(auth)(admin_client, app).login_as(admin)
    admin_client.post_form(f"/admin/accounts/{consultant}/deactivate")
    response = replay(app, copied)
    assert response.status_code == 302 and path_of(response) == "/login"
    assert not is_signed_in(client)
    # Even after reactivation the old cookie stays dead (the session generation moved on).
    admin_client.post_form(f"/admin/accounts/{consultant}/reactivate")
    assert replay(app, copied).status_code == 302


# Timeouts (S4) -------------------------------------------------------------------------------


def _age_session(client, *, idle_seconds: int = 0, age_seconds: int = 0) -> None:
    with client.session_transaction() as sess:
        sess["seen_at"] = sess["seen_at"] - idle_seconds
        sess["signed_in_at"] = sess["signed_in_at"] - age_seconds


def test_idle_timeout(app, client, auth, consultant):
    idle = app.config["PORTAL_SESSION_IDLE_MINUTES"] * 60
    auth.login_as(consultant)
    _age_session(client, idle_seconds=idle - 60)
    assert client.get("/").status_code == 200  # activity resets the idle clock
    _age_session(client, idle_seconds=idle - 60)
    assert client.get("/").status_code == 200
    _age_session(client, idle_seconds=idle + 60)
    response = client.get("/account")
    assert response.status_code == 302 and path_of(response) == "/login"
    page = client.get(response.headers["Location"])
    assert "signed out after a period without activity" in text(page)
    assert not is_signed_in(client)


def test_absolute_lifetime(app, client, auth, consultant):
    lifetime = app.config["PORTAL_SESSION_MAX_HOURS"] * 3600
    auth.login_as(consultant)
    _age_session(client, age_seconds=lifetime - 120)
    assert client.get("/").status_code == 200
    _age_session(client, age_seconds=180)  # now past the lifetime, though active a moment ago
    response = client.get("/")
    assert response.status_code == 302 and path_of(response) == "/login"
    assert not is_signed_in(client)


def test_post_after_session_expired_keeps_the_typed_text(app, client, auth, consultant, get_user):
    auth.login_as(consultant)
    token = client.csrf_token()
    _age_session(client, idle_seconds=app.config["PORTAL_SESSION_IDLE_MINUTES"] * 60 + 60)
    typed = 'Sage <the "quiet" one> & co'
    response = client.post(
        "/account", data={"csrf_token": token, "display_name": typed, "locale": "en"}
    )
    assert response.status_code == 401
    assert "For your safety, you were signed out" in text(response)
    form = form_posting_to(response, "/login")
    fields = {name: value for name, value, _type in form["fields"]}
    assert fields["carry_action"] == "/account"
    assert fields["carry-display_name"] == typed
    assert "carry-csrf_token" not in fields
    assert get_user(consultant).display_name == "Amara"

    # Signing in again offers the work back, unsaved.
    fields.update(email="consultant@example.org", password=PASSWORD)
    kept = client.post("/login", data=fields)
    assert kept.status_code == 200
    assert "Your work is kept" in text(kept)
    assert "Sage &lt;the &#34;quiet&#34; one&gt; &amp; co" in text(kept)
    assert get_user(consultant).display_name == "Amara"
    resend = form_posting_to(kept, "/account")
    sent = client.post("/account", data={name: value for name, value, _type in resend["fields"]})
    assert sent.status_code == 302
    assert get_user(consultant).display_name == typed


def test_expired_session_work_survives_the_second_factor_step(
    app, client, auth, consultant, get_user
):
    secret, _codes = enable_second_factor(app, consultant)
    auth.login("consultant@example.org")
    client.post_form("/login/second-factor", {"code": pyotp.TOTP(secret).now()})
    token = client.csrf_token()
    _age_session(client, idle_seconds=app.config["PORTAL_SESSION_IDLE_MINUTES"] * 60 + 60)
    typed = "Words typed before the break"
    response = client.post(
        "/account", data={"csrf_token": token, "display_name": typed, "locale": "en"}
    )
    assert response.status_code == 401
    fields = {n: v for n, v, _t in form_posting_to(response, "/login")["fields"]}
    fields.update(email="consultant@example.org", password=PASSWORD)
    challenge = client.post("/login", data=fields)
    assert challenge.status_code == 200
    step = {n: v for n, v, _t in form_posting_to(challenge, "/login/second-factor")["fields"]}
    assert step["carry-display_name"] == typed
    step["code"] = codes_or_next(secret)
    kept = client.post("/login/second-factor", data=step)
    assert kept.status_code == 200
    assert "Your work is kept" in text(kept) and typed in text(kept)
    resend = form_posting_to(kept, "/account")
    assert client.post("/account", data={n: v for n, v, _t in resend["fields"]}).status_code == 302
    assert get_user(consultant).display_name == typed


def codes_or_next(secret: str) -> str:
    """A code not yet used: the next time step's (one step of drift is accepted)."""
    return pyotp.TOTP(secret).at(utcnow() + timedelta(seconds=30))


def test_post_with_bad_csrf_token_keeps_the_typed_text(client, auth, consultant, get_user):
    auth.login_as(consultant)
    typed = "A name typed long ago"
    response = client.post(
        "/account", data={"csrf_token": "expired-or-forged", "display_name": typed, "locale": "fr"}
    )
    assert response.status_code == 400
    assert "Your work is kept" in text(response)
    assert typed in text(response)
    assert get_user(consultant).display_name == "Amara"
    # The page carries a fresh token, so sending again works.
    resend = form_posting_to(response, "/account")
    assert client.post("/account", data={n: v for n, v, _t in resend["fields"]}).status_code == 302
    assert get_user(consultant).display_name == typed
    assert get_user(consultant).locale == "fr"


def test_post_without_session_asks_to_sign_in_and_keeps_text(client, consultant):
    response = client.post("/account", data={"display_name": "Typed before signing in"})
    assert response.status_code == 401
    fields = {n: v for n, v, _t in form_posting_to(response, "/login")["fields"]}
    assert fields["carry-display_name"] == "Typed before signing in"


# Throttling (S6) -----------------------------------------------------------------------------


def test_failed_sign_ins_are_limited_per_account(app, client, auth, consultant, consultant2):
    assert app.config["PORTAL_LOGIN_LIMIT_PER_ACCOUNT"].startswith("5 per")
    for _ in range(5):
        assert auth.login("consultant@example.org", "wrong password attempt").status_code == 400
    # The right password is refused too while the pause lasts, with a translated page.
    response = auth.login("Consultant@example.org", headers={"Accept-Language": "fr"})
    assert response.status_code == 429
    assert html_lang(response) == "fr"
    assert translated(app, "Please wait a moment", "fr") in text(response)
    assert response.headers["Content-Security-Policy"]
    assert not is_signed_in(client)
    # Another account from the same address is not affected.
    assert auth.login("consultant2@example.org").status_code == 302


def test_successful_sign_ins_do_not_count_towards_the_limit(client, auth, consultant):
    for _ in range(4):
        assert auth.login("consultant@example.org", "wrong password attempt").status_code == 400
    for _ in range(3):
        assert auth.login("consultant@example.org").status_code == 302
        auth.logout()
    assert auth.login("consultant@example.org").status_code == 302


# Second factor (S7) --------------------------------------------------------------------------


def _a_wrong_code(secret: str) -> str:
    now = utcnow()
    window = {pyotp.TOTP(secret).at(now + timedelta(seconds=s)) for s in (-60, -30, 0, 30, 60)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in window)


def test_second_factor_is_asked_after_the_password(app, client, auth, consultant):
    secret, _codes = enable_second_factor(app, consultant)
    response = auth.login("consultant@example.org")
    assert response.status_code == 302 and path_of(response) == "/login/second-factor"
    assert not is_signed_in(client)
    challenge = client.get("/login/second-factor")
    assert challenge.status_code == 200 and 'name="code"' in text(challenge)

    wrong = client.post_form("/login/second-factor", {"code": _a_wrong_code(secret)})
    assert wrong.status_code == 400
    assert "That code did not work" in text(wrong)
    assert not is_signed_in(client)

    code = pyotp.TOTP(secret).now()
    right = client.post_form("/login/second-factor", {"code": code})
    assert right.status_code == 302 and path_of(right) == "/"
    assert is_signed_in(client)

    # The same code cannot be used again, even straight away in another sign-in.
    auth.logout()
    auth.login("consultant@example.org")
    again = client.post_form("/login/second-factor", {"code": code})
    assert again.status_code == 400
    assert not is_signed_in(client)


def test_second_factor_step_follows_next(app, client, consultant):
    secret, _codes = enable_second_factor(app, consultant)
    client.post_form(
        "/login?next=%2Faccount", {"email": "consultant@example.org", "password": PASSWORD}
    )
    response = client.post_form("/login/second-factor", {"code": pyotp.TOTP(secret).now()})
    assert response.headers["Location"] == "/account"


def test_second_factor_step_without_password_goes_back_to_sign_in(app, client, consultant):
    enable_second_factor(app, consultant)
    response = client.get("/login/second-factor")
    assert response.status_code == 302 and path_of(response) == "/login"


def test_second_factor_step_expires(app, client, auth, consultant):
    secret, _codes = enable_second_factor(app, consultant)
    auth.login("consultant@example.org")
    with client.session_transaction() as sess:
        pending = dict(sess["second_factor"])
        pending["at"] -= 301
        sess["second_factor"] = pending
    response = client.post_form("/login/second-factor", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302 and path_of(response) == "/login"
    assert not is_signed_in(client)


def test_recovery_code_signs_in_once(app, client, auth, consultant):
    _secret, codes = enable_second_factor(app, consultant)
    auth.login("consultant@example.org")
    response = client.post_form("/login/second-factor", {"code": codes[0].lower()})
    assert response.status_code == 302 and path_of(response) == "/"
    assert is_signed_in(client)
    auth.logout()
    auth.login("consultant@example.org")
    response = client.post_form("/login/second-factor", {"code": codes[0]})
    assert response.status_code == 400
    assert not is_signed_in(client)
    response = client.post_form("/login/second-factor", {"code": codes[1]})
    assert response.status_code == 302


def test_second_factor_attempts_are_limited(app, client, auth, consultant):
    secret, _codes = enable_second_factor(app, consultant)
    auth.login("consultant@example.org")
    wrong = _a_wrong_code(secret)
    for _ in range(5):
        assert client.post_form("/login/second-factor", {"code": wrong}).status_code == 400
    response = client.post_form("/login/second-factor", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 429
    assert not is_signed_in(client)


@pytest.mark.parametrize("code", ["\u0663\u0664\u0665\u0666\u0667\u0668", "12345\u00b2"])
def test_second_factor_with_non_ascii_digits_is_a_wrong_code(app, client, auth, consultant, code):
    enable_second_factor(app, consultant)
    auth.login("consultant@example.org")
    response = client.post_form("/login/second-factor", {"code": code})
    assert response.status_code == 400
    assert "That code did not work" in text(response)


def test_second_factor_setup_flow(app, client, auth, consultant, get_user):
    auth.login_as(consultant)
    page = client.get("/account/second-factor")
    assert page.status_code == 200
    assert "Set up a second factor" in text(page)
    assert client.post_form("/account/second-factor/start").status_code == 302

    page = client.get("/account/second-factor")
    secret = get_user(consultant).totp_pending_secret
    assert secret
    assert " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) in text(page)
    assert 'src="data:image/svg+xml' in text(page)
    # The secret lives on the server only, never in the readable session cookie (D3).
    session_data = app.session_interface.get_signing_serializer(app).loads(cookie_value(client))
    assert secret not in repr(session_data)

    refused = client.post_form("/account/second-factor/confirm", {"code": _a_wrong_code(secret)})
    assert refused.status_code == 302
    assert "did not match" in text(client.get("/account/second-factor"))
    assert not get_user(consultant).has_second_factor

    shown = client.post_form("/account/second-factor/confirm", {"code": pyotp.TOTP(secret).now()})
    assert shown.status_code == 200
    codes = re.findall(
        r"<code>([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})</code>", text(shown)
    )
    assert len(set(codes)) == 10
    assert "Your second factor is on." in text(shown)

    status = client.get("/account/second-factor")
    assert "usa-alert--success" in text(status)
    assert "10 recovery codes are left." in text(status)
    assert "/account/second-factor/start" not in text(status)  # no "set up" button any more
    assert "/account/second-factor/disable" in text(status)
    user = get_user(consultant)
    assert user.totp_secret == secret and user.totp_pending_secret is None

    # The codes shown work at sign-in.
    auth.logout()
    auth.login("consultant@example.org")
    assert client.post_form("/login/second-factor", {"code": codes[9]}).status_code == 302


def test_turning_off_the_second_factor_needs_the_password(app, client, auth, consultant, get_user):
    secret, _codes = enable_second_factor(app, consultant)
    auth.login("consultant@example.org")
    client.post_form("/login/second-factor", {"code": pyotp.TOTP(secret).now()})
    client.post_form("/account/second-factor/disable", {"current_password": "not the password!"})
    assert get_user(consultant).has_second_factor
    response = client.post_form("/account/second-factor/disable", {"current_password": PASSWORD})
    assert response.status_code == 302
    assert not get_user(consultant).has_second_factor
    assert is_signed_in(client)


def test_required_second_factor_blocks_everything_until_set_up(app, client, auth, editor, get_user):
    app.config["PORTAL_SECOND_FACTOR_ROLES"] = frozenset({"admin", "editor"})
    response = auth.login("editor@example.org")
    assert response.status_code == 302
    for url in ["/", "/account", "/account/password", "/admin/accounts", "/admin/accounts/invite"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert path_of(response) == "/account/second-factor", url
    response = client.post_form("/account", {"display_name": "Changed", "locale": "fr"})
    assert response.status_code == 302 and path_of(response) == "/account/second-factor"
    assert get_user(editor).display_name == "Camille"
    page = client.get("/account/second-factor")
    assert page.status_code == 200
    assert "Your role requires a second factor." in text(page)

    # Setting it up unlocks the portal.
    client.post_form("/account/second-factor/start")
    secret = get_user(editor).totp_pending_secret
    assert (
        client.post_form(
            "/account/second-factor/confirm", {"code": pyotp.TOTP(secret).now()}
        ).status_code
        == 200
    )
    assert client.get("/").status_code == 200
    # And it cannot then be turned off.
    client.post_form("/account/second-factor/disable", {"current_password": PASSWORD})
    assert get_user(editor).has_second_factor


def test_sign_out_works_while_second_factor_setup_is_required(app, client, auth, editor):
    app.config["PORTAL_SECOND_FACTOR_ROLES"] = frozenset({"editor"})
    auth.login("editor@example.org")
    response = auth.logout()
    assert response.status_code == 302 and path_of(response) == "/login"
    assert not is_signed_in(client)


def test_consultants_are_not_forced_when_only_editors_must(app, client, auth, consultant):
    app.config["PORTAL_SECOND_FACTOR_ROLES"] = frozenset({"editor"})
    auth.login_as(consultant)
    assert client.get("/account").status_code == 200


# Invitation and reset links ------------------------------------------------------------------


def _invite(app, admin_id: int, **details) -> str:
    details = {
        "email": "newcomer@example.org",
        "display_name": "Wren",
        "role": Role.CONSULTANT,
        "locale": "en",
    } | details
    with app.test_request_context():
        _user, raw = services.invite_user(db.session.get(User, admin_id), **details)
        db.session.commit()
    return raw


def _reset_link(app, admin_id: int, user_id: int) -> str:
    with app.test_request_context():
        raw = services.issue_password_reset(
            db.session.get(User, admin_id), db.session.get(User, user_id)
        )
        db.session.commit()
    return raw


def test_invitation_link_sets_password_and_signs_in(app, client, auth, admin, get_user):
    raw = _invite(app, admin)
    url = f"/invitation/{raw}"
    page = client.get(url)
    assert page.status_code == 200
    assert "Welcome, Wren" in text(page)
    assert 'name="password"' in text(page) and 'name="confirm"' in text(page)

    weak = client.post_form(url, {"password": "password1234", "confirm": "password1234"})
    assert weak.status_code == 400
    assert "too common" in text(weak)
    short = client.post_form(url, {"password": "short one", "confirm": "short one"})
    assert short.status_code == 400 and "at least 12 characters" in text(short)
    mismatch = client.post_form(url, {"password": PASSWORD, "confirm": PASSWORD + "!"})
    assert mismatch.status_code == 400
    assert "The two passwords are not the same." in text(mismatch)
    assert not is_signed_in(client)

    done = client.post_form(url, {"password": PASSWORD, "confirm": PASSWORD})
    assert done.status_code == 302 and path_of(done) == "/"
    home = client.get("/")
    assert home.status_code == 200 and "Welcome, Wren" in text(home)

    used = client.get(url)
    assert used.status_code == 404
    assert "This link no longer works" in text(used)
    assert (
        client.post_form(url, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code
        == 404
    )
    auth.logout()
    assert auth.login("newcomer@example.org").status_code == 302


def test_unknown_and_expired_links_show_the_no_longer_works_page(app, client, admin):
    assert client.get("/invitation/not-a-real-token").status_code == 404
    raw = _invite(app, admin)
    with app.test_request_context():
        token = services.usable_token(raw, TokenPurpose.INVITATION)
        token.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    response = client.get(f"/invitation/{raw}")
    assert response.status_code == 404
    assert "This link no longer works" in text(response)
    # An invitation link is not a reset link.
    assert client.get(f"/reset/{_invite(app, admin, email='x@example.org')}").status_code == 404


def test_reset_link_sets_password_and_signs_out(app, client, auth, admin, consultant):
    auth.login_as(consultant)
    raw = _reset_link(app, admin, consultant)
    url = f"/reset/{raw}"
    page = client.get(url)
    assert page.status_code == 200 and "Choose a new password" in text(page)
    mismatch = client.post_form(url, {"password": NEW_PASSWORD, "confirm": PASSWORD})
    assert mismatch.status_code == 400
    done = client.post_form(url, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and path_of(done) == "/login"
    assert not is_signed_in(client)
    assert "Please sign in with it" in text(client.get("/login"))
    assert auth.login("consultant@example.org", PASSWORD).status_code == 400
    assert auth.login("consultant@example.org", NEW_PASSWORD).status_code == 302
    assert client.get(url).status_code == 404


# Own account ---------------------------------------------------------------------------------


def test_change_display_name_and_language(client, auth, consultant, get_user):
    auth.login_as(consultant)
    page = client.get("/account")
    assert html_lang(page) == "en"
    response = client.post_form("/account", {"display_name": "  Heron  ", "locale": "fr"})
    assert response.status_code == 302 and path_of(response) == "/account"
    page = client.get("/account")
    assert html_lang(page) == "fr"
    assert "Heron" in text(page)
    user = get_user(consultant)
    assert user.display_name == "Heron" and user.locale == "fr"


@pytest.mark.parametrize(
    "data",
    [
        {"display_name": "", "locale": "en"},
        {"display_name": "   ", "locale": "en"},
        {"display_name": "x" * 81, "locale": "en"},
        {"display_name": "Ok", "locale": "de"},
    ],
)
def test_invalid_account_changes_are_refused_and_kept(client, auth, consultant, get_user, data):
    auth.login_as(consultant)
    response = client.post_form("/account", data)
    assert response.status_code == 400
    assert "Nothing you typed was lost." in text(response)
    assert get_user(consultant).display_name == "Amara"
    assert get_user(consultant).locale == "en"


def test_change_password_needs_the_current_one(client, auth, consultant):
    auth.login_as(consultant)
    wrong = client.post_form(
        "/account/password",
        {
            "current_password": "not my password at all",
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert wrong.status_code == 400
    assert "That does not match your current password." in text(wrong)
    weak = client.post_form(
        "/account/password",
        {
            "current_password": PASSWORD,
            "password": "aaaaaaaaaaaaaaaa",
            "confirm": "aaaaaaaaaaaaaaaa",
        },
    )
    assert weak.status_code == 400
    ok = client.post_form(
        "/account/password",
        {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert ok.status_code == 302
    auth.logout()
    assert auth.login("consultant@example.org", PASSWORD).status_code == 400
    assert auth.login("consultant@example.org", NEW_PASSWORD).status_code == 302


# Language ------------------------------------------------------------------------------------


def test_language_switch_for_anonymous_visitors(client):
    assert html_lang(client.get("/login")) == "en"
    response = client.post_form("/language", {"locale": "fr", "next": "/login"})
    assert response.status_code == 302 and path_of(response) == "/login"
    assert html_lang(client.get("/login")) == "fr"
    client.post_form("/language", {"locale": "xx", "next": "/login"})
    assert html_lang(client.get("/login")) == "fr"
    response = client.post_form("/language", {"locale": "en", "next": "//evil.example/"})
    assert path_of(response) == "/" and "evil" not in response.headers["Location"]
    assert html_lang(client.get("/login")) == "en"


def test_language_switch_is_saved_on_the_account(app, client, auth, consultant, get_user):
    auth.login_as(consultant)
    response = client.post_form("/language", {"locale": "fr", "next": "/account"})
    assert response.status_code == 302 and path_of(response) == "/account"
    assert get_user(consultant).locale == "fr"
    assert html_lang(client.get("/account")) == "fr"
    # Another browser, signing in later, gets French too.
    other = app.test_client()
    type(auth)(other, app).login_as(consultant)
    assert html_lang(other.get("/")) == "fr"


def test_accept_language_picks_french_for_anonymous_visitors(app, client, auth, consultant):
    response = client.get("/login", headers={"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"})
    assert html_lang(response) == "fr"
    assert translated(app, "Sign in", "fr") in text(response)
    assert html_lang(client.get("/login", headers={"Accept-Language": "de"})) == "en"
    # Once signed in, the account's own language wins over the browser's.
    auth.login_as(consultant)
    assert html_lang(client.get("/", headers={"Accept-Language": "fr"})) == "en"


@pytest.mark.parametrize(
    "message", ["Sign in", "Please wait a moment", "We could not find that page"]
)
def test_french_catalog_translates_the_pages(app, message):
    # The French assertions above compare with the catalog; this makes sure it is not empty.
    assert translated(app, message, "fr") != message
    assert translated(app, message, "en") == message


# Health and error pages ----------------------------------------------------------------------


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def _assert_security_headers(response) -> None:
    csp = response.headers["Content-Security-Policy"]
    for directive in [
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]:
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize("signed_in", [False, True])
def test_404_is_a_friendly_page_with_headers(client, auth, consultant, signed_in):
    if signed_in:
        auth.login_as(consultant)
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "We could not find that page" in text(response)
    assert "Traceback" not in text(response)
    _assert_security_headers(response)


def test_405_is_a_friendly_page_with_headers(client):
    response = client.get("/logout")
    assert response.status_code == 405
    assert response.mimetype == "text/html"
    assert "That action is not possible here" in text(response)
    _assert_security_headers(response)


def test_security_headers_on_pages_and_static_files(client):
    _assert_security_headers(client.get("/login"))
    with client.get("/static/css/portal.css") as response:
        assert response.status_code == 200
        _assert_security_headers(response)
