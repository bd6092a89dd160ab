"""Signing in and out, one-time links, and each person's own account settings."""

from __future__ import annotations

import time

import segno
from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from portal.accounts import bp, services, totp
from portal.accounts.forms import (
    AccountForm,
    ActionForm,
    ChangePasswordForm,
    ConfirmSecondFactorForm,
    ForgotPasswordForm,
    LoginForm,
    PasswordConfirmForm,
    SecondFactorForm,
    SetPasswordForm,
)
from portal.accounts.models import TokenPurpose, User
from portal.errors import DomainError
from portal.extensions import db, limiter
from portal.mail import absolute_url, mail_configured, send_mail
from portal.security import carry_from_login_form, public, safe_next, start_session_clock

SECOND_FACTOR_WINDOW_SECONDS = 300


def _limit(name: str):
    return lambda: current_app.config[name]


def _account_key() -> str:
    """Rate-limit key for one account, whichever address the attempts come from (S6)."""
    return "account:" + services.normalise_email(request.form.get("email", ""))[:254]


def _pending_account_key() -> str:
    pending = session.get("second_factor") or {}
    return f"second-factor:{pending.get('uid', 'none')}"


def _attempt_failed(response) -> bool:
    return bool(g.get("attempt_failed"))


def _clear_session() -> None:
    """Empty the session, and forget the CSRF token Flask-WTF cached for this request.

    Flask-WTF caches the signed token in `g` (forms create it when built); after the session is
    cleared that cached token no longer matches, so a page rendered in this same request (the
    "Your work is kept" page, the second-factor step) would carry a dead token.
    """
    session.clear()
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)


def _complete_sign_in(user: User) -> None:
    """Start a fresh session for this person (S2) and record the sign-in."""
    _clear_session()
    login_user(user)
    start_session_clock()
    services.record_sign_in(user)
    db.session.commit()


def _after_sign_in(next_url: str | None, carry_action: str | None, carry_fields):
    if carry_action:
        # Work typed before the session ended: offer it back, ready to send (S4).
        return render_template(
            "core/resubmit.html", action=carry_action, fields=carry_fields, reason="signin"
        )
    return redirect(safe_next(next_url))


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_limit("PORTAL_LOGIN_LIMIT_PER_ADDRESS"), methods=["POST"])
@limiter.limit(
    _limit("PORTAL_LOGIN_LIMIT_PER_ACCOUNT"),
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_attempt_failed,
)
def login():
    next_url = request.args.get("next")
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(next_url))
    form = LoginForm()
    carry_action, carry_fields = carry_from_login_form() if request.method == "POST" else (None, [])
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            g.attempt_failed = True
            services.record_failed_sign_in(services.user_by_email(form.email.data))
            db.session.commit()
            # One message whatever went wrong: unknown, wrong password or deactivated (S8).
            form.password.errors.append(
                _(
                    "That e-mail address and password do not match an active account. "
                    "Please try again."
                )
            )
        elif user.has_second_factor:
            db.session.commit()  # keeps a password rehash
            _clear_session()
            session["second_factor"] = {
                "uid": user.id,
                "gen": user.session_generation,
                "at": int(time.time()),
                "next": next_url if next_url else None,
            }
            if carry_action:
                return render_template(
                    "accounts/second_factor_challenge.html",
                    form=SecondFactorForm(formdata=None),
                    carry_action=carry_action,
                    carry_fields=carry_fields,
                )
            return redirect(url_for("accounts.second_factor_challenge"))
        else:
            _complete_sign_in(user)
            return _after_sign_in(next_url, carry_action, carry_fields)
    status = 200 if request.method == "GET" else 400
    return (
        render_template(
            "accounts/login.html",
            form=form,
            carry_action=carry_action,
            carry_fields=carry_fields,
            mail_on=mail_configured(),
        ),
        status,
    )


def _pending_second_factor_user() -> User | None:
    pending = session.get("second_factor")
    if not isinstance(pending, dict):
        return None
    if int(time.time()) - int(pending.get("at", 0)) > SECOND_FACTOR_WINDOW_SECONDS:
        session.pop("second_factor", None)
        return None
    user = db.session.get(User, pending.get("uid"))
    if user is None or not user.active or user.session_generation != pending.get("gen"):
        return None
    return user


@bp.route("/login/second-factor", methods=["GET", "POST"])
@public
@limiter.limit(_limit("PORTAL_LOGIN_LIMIT_PER_ADDRESS"), methods=["POST"])
@limiter.limit(
    _limit("PORTAL_LOGIN_LIMIT_PER_ACCOUNT"),
    key_func=_pending_account_key,
    methods=["POST"],
    deduct_when=_attempt_failed,
)
def second_factor_challenge():
    user = _pending_second_factor_user()
    if user is None:
        flash(_("Please sign in again: the sign-in step took too long or was interrupted."), "info")
        return redirect(url_for("accounts.login"))
    form = SecondFactorForm()
    carry_action, carry_fields = carry_from_login_form() if request.method == "POST" else (None, [])
    if form.validate_on_submit():
        if services.verify_second_factor(user, form.code.data):
            next_url = session["second_factor"].get("next")
            _complete_sign_in(user)
            return _after_sign_in(next_url, carry_action, carry_fields)
        db.session.rollback()
        g.attempt_failed = True
        services.record_failed_sign_in(user, step="second_factor")
        db.session.commit()
        form.code.errors.append(
            _("That code did not work. Codes change every 30 seconds; please try the newest one.")
        )
    return render_template(
        "accounts/second_factor_challenge.html",
        form=form,
        carry_action=carry_action,
        carry_fields=carry_fields,
    ), (200 if request.method == "GET" else 400)


# Public: it only ever ends the caller's own session, and must work after that session expired.
@bp.post("/logout")
@public
def logout():
    # The person's language outlives their session, so the sign-in page stays in it.
    locale = current_user.locale if current_user.is_authenticated else session.get("locale")
    if current_user.is_authenticated:
        services.sign_out(current_user)
        db.session.commit()
        logout_user()
    session.clear()
    if locale:
        session["locale"] = locale
    flash(_("You have signed out. Thank you for your work."), "success")
    return redirect(url_for("accounts.login"))


def _link_page(purpose: TokenPurpose, raw_token: str):
    token = services.usable_token(raw_token, purpose)
    if token is None:
        return render_template("accounts/link_invalid.html", purpose=purpose.value), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            user = services.redeem_token(token, form.password.data)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
            return redirect(url_for("accounts.login"))
        db.session.commit()
        if purpose is TokenPurpose.INVITATION and not user.has_second_factor:
            _complete_sign_in(user)
            flash(
                _("Welcome, %(name)s. Your password is saved.", name=user.display_name), "success"
            )
            return redirect(url_for("core.home"))
        logout_user()
        session.clear()
        flash(_("Your new password is saved. Please sign in with it."), "success")
        return redirect(url_for("accounts.login"))
    return render_template(
        "accounts/set_password.html", form=form, purpose=purpose.value, user=token.user
    ), (200 if request.method == "GET" else 400)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@public
@limiter.limit(_limit("PORTAL_LOGIN_LIMIT_PER_ADDRESS"))
def accept_invitation(token: str):
    return _link_page(TokenPurpose.INVITATION, token)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@public
@limiter.limit(_limit("PORTAL_LOGIN_LIMIT_PER_ADDRESS"))
def reset_password(token: str):
    return _link_page(TokenPurpose.PASSWORD_RESET, token)


@bp.route("/password/forgot", methods=["GET", "POST"])
@public
@limiter.limit(_limit("PORTAL_LOGIN_LIMIT_PER_ADDRESS"), methods=["POST"])
@limiter.limit(_limit("PORTAL_LOGIN_LIMIT_PER_ACCOUNT"), key_func=_account_key, methods=["POST"])
def forgot_password():
    """Self-service reset by e-mail; only offered when mail is configured."""
    if not mail_configured():
        abort(404)
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = services.user_by_email(form.email.data)
        link = None
        if user is not None and user.active and not user.invitation_pending:
            raw = services.issue_password_reset(None, user)
            db.session.commit()
            link = absolute_url(url_for("accounts.reset_password", token=raw))
            send_reset_mail(user, link)
        # The same answer whether or not an account exists (S8).
        return render_template("accounts/forgot_password_sent.html")
    return render_template("accounts/forgot_password.html", form=form), (
        200 if request.method == "GET" else 400
    )


def send_reset_mail(user: User, link: str) -> bool:
    with force_locale(user.locale):
        hours = current_app.config["PORTAL_RESET_HOURS"]
        subject = _("Choose a new password for the Survivor Advisory Council Portal")
        body = render_template("email/password_reset.txt", user=user, link=link, hours=hours)
    return send_mail(user.email, subject, body)


def send_invitation_mail(user: User, link: str) -> bool:
    with force_locale(user.locale):
        days = current_app.config["PORTAL_INVITATION_DAYS"]
        subject = _("You are invited to the Survivor Advisory Council Portal")
        body = render_template("email/invitation.txt", user=user, link=link, days=days)
    return send_mail(user.email, subject, body)


# Own account ---------------------------------------------------------------------------------


@bp.post("/account/my-data")
def my_data():
    """Download everything the portal keeps about me, as a ZIP of JSON and CSV."""
    from flask import Response

    from portal.accounts.data_export import build_zip
    from portal.audit.services import record

    archive = build_zip(current_user)
    record(current_user, "account.data_exported", current_user)
    db.session.commit()
    return Response(
        archive,
        mimetype="application/zip",
        headers={"Content-Disposition": "attachment; filename=my-portal-data.zip"},
    )


@bp.route("/account", methods=["GET", "POST"])
def account():
    form = AccountForm(obj=current_user)
    if form.validate_on_submit():
        services.update_profile(
            current_user, display_name=form.display_name.data, locale=form.locale.data
        )
        db.session.commit()
        session["locale"] = current_user.locale
        flash(_("Your changes are saved."), "success")
        return redirect(url_for("accounts.account"))
    return render_template("accounts/account.html", form=form), (
        200 if request.method == "GET" else 400
    )


@bp.route("/account/password", methods=["GET", "POST"])
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(current_user, form.current_password.data, form.password.data)
        except DomainError as error:
            db.session.rollback()
            form.current_password.errors.append(str(error.message))
        else:
            user = current_user._get_current_object()
            db.session.commit()
            # Every other session ended with the change; this one continues.
            _complete_sign_in(user)
            flash(
                _(
                    "Your password is changed. Any other place you were signed in has been "
                    "signed out."
                ),
                "success",
            )
            return redirect(url_for("accounts.account"))
    return render_template("accounts/change_password.html", form=form), (
        200 if request.method == "GET" else 400
    )


def _qr_data_uri(secret: str) -> str:
    uri = totp.provisioning_uri(secret, current_user.email)
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


@bp.get("/account/second-factor")
def second_factor():
    user = current_user
    context = {
        "start_form": ActionForm(),
        "confirm_form": ConfirmSecondFactorForm(),
        "password_form": PasswordConfirmForm(),
    }
    secret = user.totp_pending_secret
    if not user.has_second_factor and secret:
        context.update(
            secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            qr=_qr_data_uri(secret),
        )
    remaining = sum(1 for code in user.recovery_codes if code.used_at is None)
    return render_template(
        "accounts/second_factor.html",
        required=services.second_factor_required(user),
        remaining_codes=remaining,
        **context,
    )


@bp.post("/account/second-factor/start")
def second_factor_start():
    if ActionForm().validate_on_submit():
        try:
            services.begin_second_factor_setup(current_user)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
    return redirect(url_for("accounts.second_factor"))


@bp.post("/account/second-factor/confirm")
def second_factor_confirm():
    form = ConfirmSecondFactorForm()
    if form.validate_on_submit():
        try:
            codes = services.confirm_second_factor(current_user, form.code.data)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            return render_template("accounts/recovery_codes.html", codes=codes, new_setup=True)
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
    return redirect(url_for("accounts.second_factor"))


@bp.post("/account/second-factor/recovery-codes")
def recovery_codes():
    form = PasswordConfirmForm()
    if form.validate_on_submit():
        try:
            codes = services.regenerate_recovery_codes(current_user, form.current_password.data)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            return render_template("accounts/recovery_codes.html", codes=codes, new_setup=False)
    return redirect(url_for("accounts.second_factor"))


@bp.post("/account/second-factor/disable")
def second_factor_disable():
    form = PasswordConfirmForm()
    if services.second_factor_required(current_user):
        flash(_("Your role requires a second factor, so it cannot be turned off."), "error")
        return redirect(url_for("accounts.second_factor"))
    if form.validate_on_submit():
        try:
            services.disable_second_factor(current_user, form.current_password.data)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            user = current_user._get_current_object()
            db.session.commit()
            _complete_sign_in(user)
            flash(_("Your second factor is turned off."), "success")
    return redirect(url_for("accounts.second_factor"))
