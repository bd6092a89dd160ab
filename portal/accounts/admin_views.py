"""Admin account management: list, invite, roles, deactivation, reset links, ending sessions."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts import admin_bp as bp
from portal.accounts import services
from portal.accounts.forms import (
    AccountDetailsForm,
    AccountFilterForm,
    ActionForm,
    ChangeRoleForm,
    InviteForm,
)
from portal.accounts.models import Role, User
from portal.accounts.views import send_invitation_mail, send_reset_mail
from portal.errors import DomainError
from portal.extensions import db
from portal.mail import absolute_url, mail_configured
from portal.security import roles

PER_PAGE = 25


def get_account(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.get("/accounts")
@roles(Role.ADMIN)
def accounts():
    form = AccountFilterForm(request.args)
    if not form.validate():
        form = AccountFilterForm(formdata=None)
    page = db.paginate(
        services.search_accounts(
            query=form.q.data or "", role=form.role.data or "", status=form.status.data or ""
        ),
        per_page=PER_PAGE,
        error_out=False,
    )
    filters = {name: value for name, value in form.data.items() if value}
    return render_template("admin/accounts.html", form=form, page=page, filters=filters)


@bp.route("/accounts/invite", methods=["GET", "POST"])
@roles(Role.ADMIN)
def invite():
    form = InviteForm()
    if form.validate_on_submit():
        try:
            user, raw = services.invite_user(
                current_user,
                email=form.email.data,
                display_name=form.display_name.data,
                role=Role(form.role.data),
                locale=form.locale.data,
                legal_name=form.legal_name.data,
            )
        except DomainError as error:
            db.session.rollback()
            form.email.errors.append(error.message)
        else:
            db.session.commit()
            return _show_link(user, raw, kind="invitation")
    return render_template("admin/invite.html", form=form), (
        200 if request.method == "GET" else 400
    )


def _show_link(user: User, raw: str, *, kind: str):
    """Show a one-time link once (it is never stored or flashed), and e-mail it when possible."""
    endpoint = "accounts.accept_invitation" if kind == "invitation" else "accounts.reset_password"
    link = absolute_url(url_for(endpoint, token=raw))
    sent = send_invitation_mail(user, link) if kind == "invitation" else send_reset_mail(user, link)
    return render_template(
        "admin/link_created.html",
        user=user,
        link=link,
        kind=kind,
        sent=sent,
        mail_on=mail_configured(),
    )


@bp.get("/accounts/<int:user_id>")
@roles(Role.ADMIN)
def account(user_id: int):
    user = get_account(user_id)
    return render_template(
        "admin/account.html",
        user=user,
        role_form=ChangeRoleForm(role=user.role.value),
        details_form=AccountDetailsForm(obj=user),
        action_form=ActionForm(),
    )


def _apply(user: User, operation, success_message: str):
    """Run one service, commit once, and report back on the account page.

    CSRFProtect has already checked the token of these button forms before the view runs.
    """
    try:
        operation()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(success_message, "success")
    return redirect(url_for("admin.account", user_id=user.id))


@bp.post("/accounts/<int:user_id>/role")
@roles(Role.ADMIN)
def change_role(user_id: int):
    user = get_account(user_id)
    form = ChangeRoleForm()
    if not form.validate_on_submit():
        flash(_("Please choose one of the listed roles."), "error")
        return redirect(url_for("admin.account", user_id=user.id))
    role = Role(form.role.data)
    return _apply(
        user,
        lambda: services.change_role(current_user, user, role),
        _("The role of %(name)s is now %(role)s.", name=user.display_name, role=role.title),
    )


@bp.post("/accounts/<int:user_id>/details")
@roles(Role.ADMIN)
def update_details(user_id: int):
    user = get_account(user_id)
    form = AccountDetailsForm()
    if form.validate_on_submit():
        services.update_details(
            current_user, user, display_name=form.display_name.data, legal_name=form.legal_name.data
        )
        db.session.commit()
        flash(_("The details are saved."), "success")
        return redirect(url_for("admin.account", user_id=user.id))
    return render_template(
        "admin/account.html",
        user=user,
        role_form=ChangeRoleForm(role=user.role.value),
        details_form=form,
        action_form=ActionForm(),
    ), 400


@bp.post("/accounts/<int:user_id>/deactivate")
@roles(Role.ADMIN)
def deactivate(user_id: int):
    user = get_account(user_id)
    return _apply(
        user,
        lambda: services.deactivate(current_user, user),
        _("The account is deactivated and all its sessions have ended."),
    )


@bp.post("/accounts/<int:user_id>/anonymise")
@roles(Role.ADMIN)
def anonymise(user_id: int):
    user = get_account(user_id)
    return _apply(
        user,
        lambda: services.anonymise(current_user, user),
        _("The account is anonymised. What this person recorded stays, under a neutral name."),
    )


@bp.post("/accounts/<int:user_id>/reactivate")
@roles(Role.ADMIN)
def reactivate(user_id: int):
    user = get_account(user_id)
    return _apply(
        user, lambda: services.reactivate(current_user, user), _("The account is active again.")
    )


@bp.post("/accounts/<int:user_id>/end-sessions")
@roles(Role.ADMIN)
def end_sessions(user_id: int):
    user = get_account(user_id)
    return _apply(
        user,
        lambda: services.end_sessions(current_user, user),
        _("Every session of this account has ended; they will need to sign in again."),
    )


@bp.post("/accounts/<int:user_id>/reset-link")
@roles(Role.ADMIN)
def reset_link(user_id: int):
    user = get_account(user_id)
    return _link_action(user, lambda: services.issue_password_reset(current_user, user), "reset")


@bp.post("/accounts/<int:user_id>/invitation")
@roles(Role.ADMIN)
def resend_invitation(user_id: int):
    user = get_account(user_id)
    return _link_action(user, lambda: services.reissue_invitation(current_user, user), "invitation")


def _link_action(user: User, operation, kind: str):
    try:
        raw = operation()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("admin.account", user_id=user.id))
    db.session.commit()
    return _show_link(user, raw, kind=kind)
