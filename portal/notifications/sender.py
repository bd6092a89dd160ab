"""Sending the outbox: after the response, and from `flask send-mail`; retries with back-off.

Each message is claimed by one sender (an UPDATE from pending to sending), so two senders never
send it twice. Without SMTP settings, messages are written as .eml files to PORTAL_MAIL_FOLDER.
"""

from __future__ import annotations

import os
import smtplib
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

from flask import current_app
from sqlalchemy import select, update

from portal.extensions import db
from portal.models import utcnow
from portal.notifications.models import OutboxMessage, OutboxState

MAX_ATTEMPTS = 6
# A claimed message whose sender died (a killed worker) is claimed again after this long.
LEASE = timedelta(minutes=10)
# Minutes to wait after the 1st, 2nd, ... failed attempt.
BACKOFF_MINUTES = (1, 5, 30, 120, 720)


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=BACKOFF_MINUTES[min(attempts, len(BACKOFF_MINUTES)) - 1])


def _email(message: OutboxMessage) -> EmailMessage:
    email = EmailMessage()
    email["From"] = current_app.config["PORTAL_MAIL_SENDER"]
    email["To"] = message.user.email
    email["Subject"] = message.subject
    email["Message-ID"] = (
        f"<outbox-{message.id}@{current_app.config['PORTAL_MAIL_SENDER'].split('@')[-1]}>"
    )
    email.set_content(message.text_body)
    email.add_alternative(message.html_body, subtype="html")
    return email


def _send(email: EmailMessage, message_id: int) -> None:
    config = current_app.config
    if not config["PORTAL_MAIL_SERVER"]:
        folder = Path(config["PORTAL_MAIL_FOLDER"])
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / f"{utcnow():%Y%m%dT%H%M%S}-{message_id}.eml"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(email.as_bytes())
        return
    with smtplib.SMTP(config["PORTAL_MAIL_SERVER"], config["PORTAL_MAIL_PORT"], timeout=15) as smtp:
        if config["PORTAL_MAIL_STARTTLS"]:
            smtp.starttls()
        if config["PORTAL_MAIL_USERNAME"]:
            smtp.login(config["PORTAL_MAIL_USERNAME"], config["PORTAL_MAIL_PASSWORD"])
        smtp.send_message(email)


def _due(now):
    """Pending messages whose time has come, and claimed ones whose sender's lease ran out."""
    return OutboxMessage.state.in_([OutboxState.PENDING, OutboxState.SENDING]) & (
        OutboxMessage.next_attempt_at <= now
    )


def _claim(message_id: int, now) -> bool:
    claimed = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, _due(now))
        .values(state=OutboxState.SENDING, next_attempt_at=now + LEASE)
    )
    db.session.commit()
    return claimed.rowcount == 1


def deliver_pending(ids: list[int] | None = None, *, now=None, limit: int = 100) -> dict:
    """Send what is due (or just `ids`); returns counts of sent, retried and failed messages."""
    now = now or utcnow()
    stmt = select(OutboxMessage.id).where(_due(now)).order_by(OutboxMessage.id).limit(limit)
    if ids is not None:
        stmt = stmt.where(OutboxMessage.id.in_(ids))
    counts = {"sent": 0, "retry": 0, "failed": 0}
    for message_id in list(db.session.scalars(stmt)):
        if not _claim(message_id, now):
            continue
        message = db.session.get(OutboxMessage, message_id)
        try:
            _send(_email(message), message.id)
        except (OSError, smtplib.SMTPException) as error:
            message.attempts += 1
            message.last_error = f"{type(error).__name__}: {error}"[:500]
            if message.attempts >= MAX_ATTEMPTS:
                message.state = OutboxState.FAILED
                counts["failed"] += 1
                current_app.logger.error("E-mail %s failed for good: %s", message.id, error)
            else:
                message.state = OutboxState.PENDING
                message.next_attempt_at = now + _backoff(message.attempts)
                counts["retry"] += 1
                current_app.logger.warning("E-mail %s failed, will retry: %s", message.id, error)
        else:
            message.attempts += 1
            message.state = OutboxState.SENT
            message.sent_at = utcnow()
            message.last_error = None
            counts["sent"] += 1
        db.session.commit()
    return counts


def retry(message: OutboxMessage) -> None:
    """An admin sends a failed message again (from now, with a fresh set of attempts)."""
    message.state = OutboxState.PENDING
    message.attempts = 0
    message.next_attempt_at = utcnow()


def register_after_commit_sending(app) -> None:
    """After a response whose transaction queued e-mails, send them once it is on its way."""
    from flask import g

    @app.after_request
    def send_queued_after_response(response):
        queued = g.pop("portal_outbox", None)
        if queued:
            target = app

            def deliver() -> None:
                with target.app_context():
                    try:
                        deliver_pending(queued)
                    except Exception:  # never let sending break anything; `send-mail` retries
                        target.logger.exception("Sending queued e-mail failed")
                    finally:
                        db.session.remove()

            response.call_on_close(deliver)
        return response
