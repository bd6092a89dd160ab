"""Commands for cron: reminders, the daily digest, and sending the outbox."""

from __future__ import annotations

from datetime import date

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.extensions import db
from portal.models import utcnow


def _request_context():
    """Links are built as in a request to the canonical address (security.md B4)."""
    return current_app.test_request_context(base_url=current_app.config["PORTAL_BASE_URL"])


@click.command("send-reminders")
@with_appcontext
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), help="Act as on this day.")
def send_reminders_command(today):
    """Due-date reminders, overdue notices and expiring consents; each is sent once."""
    from portal.notifications.reminders import send_reminders
    from portal.notifications.sender import deliver_pending

    day: date = today.date() if today else utcnow().date()
    with _request_context():
        counts = send_reminders(day)
        db.session.commit()
        sent = deliver_pending()
    click.echo(
        f"{day.isoformat()}: {counts['due_soon']} due-date reminders, {counts['overdue']} overdue "
        f"notices, {counts['consent_expiring']} consent notices, {counts['skipped_away']} "
        f"skipped (away); e-mail: {sent['sent']} sent, {sent['retry']} to retry, "
        f"{sent['failed']} failed."
    )


@click.command("send-digests")
@with_appcontext
def send_digests_command():
    """The daily e-mail digest for people who chose it."""
    from portal.notifications.sender import deliver_pending
    from portal.notifications.services import send_digests

    with _request_context():
        count = send_digests()
        db.session.commit()
        sent = deliver_pending()
    click.echo(f"{count} digests queued; e-mail: {sent['sent']} sent, {sent['retry']} to retry.")


@click.command("send-mail")
@with_appcontext
def send_mail_command():
    """Send what waits in the outbox (retries included); exits 1 if some failed for good."""
    from portal.notifications.sender import deliver_pending

    sent = deliver_pending()
    click.echo(f"e-mail: {sent['sent']} sent, {sent['retry']} to retry, {sent['failed']} failed.")
    if sent["failed"]:
        raise SystemExit(1)
