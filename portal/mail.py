"""Sending e-mail over SMTP when it is configured; callers send only after their commit.

E-mails carry no sensitive content, only a link built from PORTAL_BASE_URL (security.md B4).
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from flask import current_app


def mail_configured() -> bool:
    return bool(current_app.config["PORTAL_MAIL_SERVER"])


def absolute_url(path: str) -> str:
    """A link for e-mails and for admins to pass on, from the canonical base URL, never Host."""
    return current_app.config["PORTAL_BASE_URL"] + path


def send_mail(to: str, subject: str, body: str) -> bool:
    """Send a plain-text message; return False (and log) when mail is off or the server fails."""
    config = current_app.config
    if not mail_configured():
        return False
    message = EmailMessage()
    message["From"] = config["PORTAL_MAIL_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    try:
        with smtplib.SMTP(
            config["PORTAL_MAIL_SERVER"], config["PORTAL_MAIL_PORT"], timeout=15
        ) as smtp:
            if config["PORTAL_MAIL_STARTTLS"]:
                smtp.starttls()
            if config["PORTAL_MAIL_USERNAME"]:
                smtp.login(config["PORTAL_MAIL_USERNAME"], config["PORTAL_MAIL_PASSWORD"])
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException):
        current_app.logger.exception("Could not send e-mail (subject %r)", subject)
        return False
    return True
