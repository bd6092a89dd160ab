"""Fixtures for the notification tests: a real SMTP server on loopback, mail kept in tmp_path,
a section offered by an editor, and small helpers to read rows and catalog wording.
"""

from __future__ import annotations

import email
import email.policy
import socket
from datetime import date, timedelta
from email.message import EmailMessage
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller
from flask_babel import force_locale, gettext
from sqlalchemy import func, select

from portal.accounts.models import User
from portal.extensions import db
from portal.models import utcnow

# Loopback SMTP ---------------------------------------------------------------------------------


def unused_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound once by the OS, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Collector:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


class LoopbackSMTP:
    """A real SMTP server in a thread on 127.0.0.1; it can be stopped and started on one port."""

    def __init__(self) -> None:
        self.port = unused_port()
        self._collector = _Collector()
        self._controller: Controller | None = None

    def start(self) -> None:
        if self._controller is None:
            self._controller = Controller(self._collector, hostname="127.0.0.1", port=self.port)
            self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def envelopes(self) -> list[tuple[str, list[str]]]:
        return [(sender, rcpt) for sender, rcpt, _content in self._collector.received]

    @property
    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(content, policy=email.policy.default)
            for _sender, _rcpt, content in self._collector.received
        ]


@pytest.fixture
def smtp_server():
    server = LoopbackSMTP()
    server.start()
    yield server
    server.stop()


def use_smtp(app, port: int) -> None:
    app.config.update(
        PORTAL_MAIL_SERVER="127.0.0.1",
        PORTAL_MAIL_PORT=port,
        PORTAL_MAIL_STARTTLS=False,
        PORTAL_MAIL_USERNAME="",
        PORTAL_MAIL_SENDER="portal@portal.example.org",
    )


@pytest.fixture
def smtp(app, smtp_server) -> LoopbackSMTP:
    """The app sends through the loopback server."""
    use_smtp(app, smtp_server.port)
    return smtp_server


@pytest.fixture(autouse=True)
def _mail_in_tmp_path(app, tmp_path):
    """Mail is off unless a test turns it on, and .eml files land in this test's folder
    (never in the project's instance folder, which the default would be)."""
    app.config["PORTAL_MAIL_SERVER"] = ""
    app.config["PORTAL_MAIL_FOLDER"] = str(tmp_path / "mail")


def parts(message: EmailMessage) -> tuple[str, str]:
    """The plain-text and HTML bodies of a multipart/alternative message."""
    return (
        message.get_body(preferencelist=("plain",)).get_content(),
        message.get_body(preferencelist=("html",)).get_content(),
    )


def deliver(app, **kwargs) -> dict:
    """Send what is due, as the after-response sender and `flask send-mail` do."""
    from portal.notifications.sender import deliver_pending

    with app.app_context():
        counts = deliver_pending(**kwargs)
        db.session.remove()
        return counts


# Reading rows ---------------------------------------------------------------------------------


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def rows(app, model, *where) -> list:
    """Rows detached from their session, oldest first."""
    with app.app_context():
        found = list(db.session.scalars(select(model).where(*where).order_by(model.id)))
        for row in found:
            db.session.expunge(row)
        return found


def french(app, msgid: str, **values) -> str:
    """The catalog's French for an English msgid (the English itself while it is untranslated),
    so assertions stay right before and after the catalog is brought up to date."""
    with app.app_context(), force_locale("fr"):
        return gettext(msgid, **values)


def day(offset: int) -> date:
    return utcnow().date() + timedelta(days=offset)


# A section and the people around it ----------------------------------------------------------

SECTION_TITLE_EN = "Harbour of Quiet Voices"
SECTION_TITLE_FR = "Le port des voix tranquilles"
SECTION_TEXT = "Workers described the locked dormitory behind the cannery."


@pytest.fixture
def section_world(app, editor, consultant, consultant2):
    """A report with one section (titles in both languages, one version), and three people."""
    from portal.reports import services as reports

    with app.app_context():
        editor_user = db.session.get(User, editor)
        report = reports.create_report(editor_user, title_en="2027 Report", year=2027)
        section = reports.create_section(
            editor_user, report, title_en=SECTION_TITLE_EN, title_fr=SECTION_TITLE_FR
        )
        db.session.flush()
        reports.publish_version(
            editor_user,
            section,
            body_en=SECTION_TEXT,
            body_fr=None,
            change_summary=None,
            based_on=0,
        )
        db.session.commit()
        return SimpleNamespace(
            editor=editor,
            amara=consultant,
            river=consultant2,
            report=report.id,
            section=section.id,
        )


def add_section(app, editor_id: int, report_id: int, title: str) -> int:
    """Another section of the report (committed); returns its id."""
    from portal.reports import services as reports
    from portal.reports.models import Report

    with app.app_context():
        editor_user = db.session.get(User, editor_id)
        section = reports.create_section(
            editor_user, db.session.get(Report, report_id), title_en=title
        )
        db.session.commit()
        return section.id


def offer(app, editor_id: int, section_id: int, consultant_id: int, due_on: date) -> int:
    """The editor offers the section to the consultant (committed); returns the assignment id."""
    from portal.assignments import services as assignments
    from portal.reports.models import Section

    with app.app_context():
        assignment = assignments.assign_section(
            db.session.get(User, editor_id),
            db.session.get(Section, section_id),
            db.session.get(User, consultant_id),
            due_on=due_on,
        )
        db.session.commit()
        return assignment.id
