"""Time records: what the service and view tests share.

`world` is a report with three sections. Amara has accepted two of them ("Introduction" and
"Photographs") and is only offered the third ("Methodology"); River has accepted "Introduction".
Test modules import the fixture (`from tests.timesheets import world`).
"""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from portal.accounts.models import User
from portal.assignments import services as assignments
from portal.assignments.models import Assignment
from portal.extensions import db
from portal.models import utcnow
from portal.reports import services as reports
from portal.timesheets import services
from portal.timesheets.models import TimeActivity, TimeRecord

NOTE = "Read the draft twice; the second part needs a content note."
QUESTION = "Was the meeting on the 3rd or the 4th?"


def today() -> date:
    return utcnow().date()


def days_ago(days: int) -> date:
    return today() - timedelta(days=days)


@pytest.fixture
def world(app, editor, admin, consultant, consultant2):
    ids = SimpleNamespace(editor=editor, admin=admin, amara=consultant, river=consultant2)
    with app.test_request_context():
        author = db.session.get(User, editor)
        amara = db.session.get(User, consultant)
        river = db.session.get(User, consultant2)
        report = reports.create_report(
            author, title_en="2027 Report", title_fr="Rapport 2027", year=2027
        )
        sections = {
            name: reports.create_section(author, report, title_en=title)
            for name, title in (
                ("intro", "Introduction"),
                ("photos", "Photographs"),
                ("method", "Methodology"),
            )
        }
        due = today() + timedelta(days=14)
        offers = {
            "intro": assignments.assign_section(author, sections["intro"], amara, due_on=due),
            "photos": assignments.assign_section(author, sections["photos"], amara, due_on=due),
            "method": assignments.assign_section(author, sections["method"], amara, due_on=due),
            "river": assignments.assign_section(author, sections["intro"], river, due_on=due),
        }
        for name in ("intro", "photos"):
            assignments.accept(amara, offers[name])
        assignments.accept(river, offers["river"])
        db.session.commit()
        ids.report = report.id
        ids.intro = sections["intro"].id
        ids.photos = sections["photos"].id
        ids.a_intro = offers["intro"].id
        ids.a_photos = offers["photos"].id
        ids.a_offered = offers["method"].id
        ids.a_river = offers["river"].id
    return ids


def people(ids) -> SimpleNamespace:
    """The world's accounts and assignments as objects of the current session."""
    return SimpleNamespace(
        editor=db.session.get(User, ids.editor),
        admin=db.session.get(User, ids.admin),
        amara=db.session.get(User, ids.amara),
        river=db.session.get(User, ids.river),
        a_intro=db.session.get(Assignment, ids.a_intro),
        a_photos=db.session.get(Assignment, ids.a_photos),
        a_offered=db.session.get(Assignment, ids.a_offered),
        a_river=db.session.get(Assignment, ids.a_river),
    )


def add(consultant, assignment, minutes: int = 90, *, worked_on: date | None = None, **kwargs):
    """A record through the service, committed."""
    kwargs.setdefault("activity", TimeActivity.READING)
    added = services.add_time(
        consultant, assignment, worked_on=worked_on or today(), minutes=minutes, **kwargs
    )
    db.session.commit()
    return added


def add_in(app, consultant_id: int, assignment_id: int, minutes: int = 90, **kwargs) -> int:
    """A record made in a context of its own (for view tests); returns its id."""
    with app.test_request_context():
        consultant = db.session.get(User, consultant_id)
        assignment = db.session.get(Assignment, assignment_id)
        return add(consultant, assignment, minutes, **kwargs).id


def read(app, record_id: int) -> TimeRecord | None:
    """A record fresh from the database (detached), or None."""
    with app.app_context():
        found = db.session.get(TimeRecord, record_id)
        if found is not None:
            db.session.expunge(found)
        return found


def records_of(app, consultant_id: int) -> list[TimeRecord]:
    with app.app_context():
        rows = list(
            db.session.scalars(
                select(TimeRecord)
                .where(TimeRecord.consultant_id == consultant_id)
                .order_by(TimeRecord.id)
            )
        )
        for row in rows:
            db.session.expunge(row)
        return rows


def audit_events(app, prefix: str) -> list[tuple[str, str | None, str]]:
    """(action, object id, detail) of the audit events whose action starts with `prefix`."""
    from portal.audit.models import AuditEvent

    with app.app_context():
        return [
            tuple(row)
            for row in db.session.execute(
                select(AuditEvent.action, AuditEvent.object_id, AuditEvent.detail)
                .where(AuditEvent.action.startswith(prefix))
                .order_by(AuditEvent.seq)
            )
        ]


def signed_in(app, user_id: int):
    """A new test client signed in as this account (the sign-in throttle is reset first)."""
    from portal.extensions import limiter
    from tests.conftest import AuthActions

    limiter.reset()
    client = app.test_client()
    AuthActions(client, app).login_as(user_id)
    return client
