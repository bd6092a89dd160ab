"""The notification list, marking read, each person's preferences, and the admins' outbox."""

from __future__ import annotations

from flask import abort, flash, has_request_context, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.accounts.models import Role
from portal.extensions import db
from portal.notifications import bp, sender, services
from portal.notifications.models import (
    DeliveryMode,
    Notification,
    NotificationKind,
    OutboxMessage,
    OutboxState,
)
from portal.security import is_safe_next, roles

PER_PAGE = 25


def _own(notification_id: int) -> Notification:
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != current_user.id:
        abort(404)
    return notification


@bp.get("/notifications")
def index():
    page = db.paginate(services.recent(current_user), per_page=PER_PAGE, error_out=False)
    return render_template("notifications/index.html", page=page, text_of=services.text_of)


@bp.post("/notifications/<int:notification_id>/open")
def open_notification(notification_id: int):
    """Mark it read and go where it leads."""
    notification = _own(notification_id)
    services.mark_read(notification)
    db.session.commit()
    target = notification.link if is_safe_next(notification.link) else url_for("core.home")
    return redirect(target)


@bp.post("/notifications/<int:notification_id>/read")
def mark_read(notification_id: int):
    services.mark_read(_own(notification_id))
    db.session.commit()
    return redirect(url_for("notifications.index"))


@bp.post("/notifications/read-all")
def mark_all_read():
    count = services.mark_all_read(current_user)
    db.session.commit()
    flash(
        _("All notifications are marked as read.") if count else _("Nothing was unread."),
        "success",
    )
    return redirect(url_for("notifications.index"))


@bp.route("/account/notifications", methods=["GET", "POST"])
def preferences():
    kinds = services.kinds_for(current_user)
    current = services.preferences(current_user)
    errors = []
    if request.method == "POST":
        chosen = {}
        for kind in kinds:
            value = request.form.get(f"mode-{kind.value}", "")
            try:
                chosen[kind] = DeliveryMode(value)
            except ValueError:
                errors.append(kind)
        if not errors:
            services.set_preferences(current_user, chosen)
            db.session.commit()
            flash(_("Your notification choices are saved."), "success")
            return redirect(url_for("notifications.preferences"))
        current = current | chosen
    return render_template(
        "notifications/preferences.html",
        kinds=kinds,
        current=current,
        errors=errors,
        modes=list(DeliveryMode),
    ), (400 if errors else 200)


@bp.get("/admin/outbox")
@roles(Role.ADMIN)
def outbox():
    """What could not be sent, and what waits; admins can send a failed message again."""
    failed = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.state == OutboxState.FAILED)
        .order_by(OutboxMessage.id.desc())
        .limit(200)
    ).all()
    waiting = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.state.in_([OutboxState.PENDING, OutboxState.SENDING]))
        .order_by(OutboxMessage.next_attempt_at)
        .limit(200)
    ).all()
    return render_template("notifications/outbox.html", failed=failed, waiting=waiting)


@bp.post("/admin/outbox/<int:message_id>/retry")
@roles(Role.ADMIN)
def retry(message_id: int):
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        abort(404)
    if message.state is OutboxState.FAILED:
        sender.retry(message)
        db.session.commit()
        from flask import g

        g.setdefault("portal_outbox", []).append(message.id)
        flash(_("The message will be sent again now."), "success")
    return redirect(url_for("notifications.outbox"))


def register_header_count(app) -> None:
    """The unread count in the header, for signed-in people (one small query per page)."""

    @app.context_processor
    def unread_notifications():
        # E-mails are rendered outside requests too, where there is no one signed in.
        if not has_request_context() or not current_user or not current_user.is_authenticated:
            return {}
        return {"unread_notifications": services.unread_count(current_user)}


__all__ = ["NotificationKind"]
