"""Notifying people: in-app rows, e-mails queued in the outbox, preferences and digests.

Functions flush, never commit: a notification commits with the event that caused it (R4).
"""

from __future__ import annotations

import json
from datetime import datetime

from flask import current_app, g, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from portal.accounts.models import User
from portal.extensions import db
from portal.mail import absolute_url
from portal.models import insert_unless_conflict, utcnow
from portal.notifications.messages import SUBJECTS, email_line, in_app_text
from portal.notifications.models import (
    DeliveryMode,
    Notification,
    NotificationKind,
    NotificationPreference,
    OutboxMessage,
)

K = NotificationKind
DEFAULT_MODES = {
    K.ASSIGNMENT_OFFERED: DeliveryMode.IMMEDIATE,
    K.DUE_SOON: DeliveryMode.IMMEDIATE,
    K.EXTENSION_ANSWERED: DeliveryMode.IMMEDIATE,
    K.ASKED_AGAIN: DeliveryMode.IMMEDIATE,
    K.REPLY: DeliveryMode.DIGEST,
    K.ADDRESSED: DeliveryMode.DIGEST,
    K.DECLINED: DeliveryMode.IMMEDIATE,
    K.CONSENT_EXPIRING: DeliveryMode.DIGEST,
    K.OVERDUE: DeliveryMode.IMMEDIATE,
    K.TIME_ANSWERED: DeliveryMode.IN_APP,
}


def path_for(endpoint: str, **values) -> str:
    """A portal path, built without a request (services also run from the command line)."""
    return current_app.url_map.bind("portal.invalid").build(endpoint, values)


def bilingual_title(obj) -> dict:
    """A title in both languages, for a notification's words (shown in the reader's)."""
    return {"en": obj.title_en, "fr": getattr(obj, "title_fr", None) or obj.title_en}


# Preferences ----------------------------------------------------------------------------------


def kinds_for(user: User) -> list[NotificationKind]:
    """The kinds a person can receive, in a stable order."""
    from portal.accounts.models import Role

    if user.role is Role.CONSULTANT:
        return [kind for kind in NotificationKind if not kind.for_editors]
    return [kind for kind in NotificationKind if kind.for_editors or kind is K.REPLY]


def preferences(user: User) -> dict[NotificationKind, DeliveryMode]:
    chosen = {
        row.kind: row.mode
        for row in db.session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id == user.id)
        )
    }
    return {kind: chosen.get(kind, DEFAULT_MODES[kind]) for kind in NotificationKind}


def set_preferences(user: User, modes: dict[NotificationKind, DeliveryMode]) -> None:
    existing = {
        row.kind: row
        for row in db.session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id == user.id)
        )
    }
    for kind, mode in modes.items():
        if kind in existing:
            existing[kind].mode = mode
        else:
            db.session.add(NotificationPreference(user_id=user.id, kind=kind, mode=mode))
    db.session.flush()


# Notifying ------------------------------------------------------------------------------------


def notify(
    user: User | None,
    kind: NotificationKind,
    *,
    link: str,
    params: dict | None = None,
    dedupe_key: str | None = None,
) -> Notification | None:
    """Tell one person; with a dedupe key, only the first call with that key does anything."""
    if user is None or not user.active or user.anonymised_at is not None:
        return None
    values = {
        "user_id": user.id,
        "kind": kind,
        "link": link,
        "params": json.dumps(params or {}, ensure_ascii=False, sort_keys=True),
        "dedupe_key": dedupe_key,
        "created_at": utcnow(),
    }
    mode = preferences(user)[kind]
    if mode is not DeliveryMode.DIGEST:
        # Only what waits for the digest is left for it: switching to the digest later never
        # e-mails again what was sent at once, or what was meant for the portal only.
        values["digested_at"] = values["created_at"]
    row_id = insert_unless_conflict(db.session, Notification, values, ["dedupe_key"])
    if row_id is None:
        return None
    notification = db.session.get(Notification, row_id)
    if mode is DeliveryMode.IMMEDIATE:
        queue_notification_email(user, notification)
    return notification


def unread_count(user: User) -> int:
    return db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.read_at.is_(None)
        )
    )


def recent(user: User):
    return (
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )


def mark_read(notification: Notification) -> None:
    if notification.read_at is None:
        notification.read_at = utcnow()


def mark_all_read(user: User) -> int:
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return result.rowcount


# E-mail ---------------------------------------------------------------------------------------


def queue_email(user: User, subject: str, text_body: str, html_body: str) -> OutboxMessage:
    """Write an e-mail to the outbox; it is sent after the transaction commits."""
    message = OutboxMessage(
        user_id=user.id,
        subject=subject[:300],
        text_body=text_body,
        html_body=html_body,
        next_attempt_at=utcnow(),
    )
    db.session.add(message)
    db.session.flush()
    queued = g.setdefault("portal_outbox", [])
    queued.append(message.id)
    return message


def _render(user: User, subject: str, lines: list[tuple[str, str]]) -> tuple[str, str, str]:
    """Subject, text and HTML in the recipient's language (the caller forces it)."""
    context = {
        "user": user,
        "lines": lines,
        "preferences_link": absolute_url(path_for("notifications.preferences")),
        "subject": subject,
    }
    return (
        subject,
        render_template("email/notification.txt", **context),
        render_template("email/notification.html", **context),
    )


def queue_notification_email(user: User, notification: Notification) -> OutboxMessage:
    with force_locale(user.locale):
        subject = str(SUBJECTS[notification.kind])
        rendered = _render(
            user, subject, [(email_line(notification), absolute_url(notification.link))]
        )
    return queue_email(user, *rendered)


def send_digests(now: datetime | None = None) -> int:
    """One e-mail per person with the digest notifications not sent yet; returns how many."""
    now = now or utcnow()
    pending = db.session.scalars(
        select(Notification)
        .where(Notification.digested_at.is_(None), Notification.read_at.is_(None))
        .order_by(Notification.user_id, Notification.created_at)
    ).all()
    by_user: dict[int, list[Notification]] = {}
    for notification in pending:
        modes = preferences(notification.user)
        if modes[notification.kind] is DeliveryMode.DIGEST:
            by_user.setdefault(notification.user_id, []).append(notification)
    sent = 0
    for notifications in by_user.values():
        user = notifications[0].user
        if not user.active:
            continue
        # Claim them first: of two runs at once, only one gets each notification.
        claimed = set(
            db.session.scalars(
                update(Notification)
                .where(
                    Notification.id.in_([n.id for n in notifications]),
                    Notification.digested_at.is_(None),
                )
                .values(digested_at=now)
                .returning(Notification.id)
                .execution_options(synchronize_session=False)
            )
        )
        mine = [n for n in notifications if n.id in claimed]
        if not mine:
            continue
        with force_locale(user.locale):
            subject = _("Your daily summary — Survivor Advisory Council Portal")
            lines = [(email_line(n), absolute_url(n.link)) for n in mine]
            queue_email(user, *_render(user, subject, lines))
        sent += 1
    db.session.flush()
    return sent


def text_of(notification: Notification) -> str:
    """The in-app words, in the current language."""
    return in_app_text(notification)


def mail_folder() -> str:
    return current_app.config["PORTAL_MAIL_FOLDER"]
