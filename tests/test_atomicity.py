"""A change and its audit event commit together or not at all (security.md R4), on both engines.

Inserts that a unique constraint guards (versions, assignments, decisions) must stay inside the
request's transaction: a rollback leaves neither the row nor its event.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from portal.accounts.models import User
from portal.assignments.models import Assignment
from portal.assignments.services import assign_section
from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.models import utcnow
from portal.reports import services as reports
from portal.reports.models import SectionVersion


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_publish_and_assign_roll_back_with_their_events(app, editor, consultant):
    with app.test_request_context():
        actor = db.session.get(User, editor)
        report = reports.create_report(actor, title_en="Report", year=2027)
        section = reports.create_section(actor, report, title_en="Intro")
        db.session.commit()
        counts = (_count(SectionVersion), _count(Assignment), _count(AuditEvent))

        reports.publish_version(
            actor, section, body_en="Text.", body_fr=None, change_summary=None, based_on=0
        )
        assign_section(
            actor,
            section,
            db.session.get(User, consultant),
            due_on=utcnow().date() + timedelta(days=3),
        )
        db.session.rollback()

        assert (_count(SectionVersion), _count(Assignment), _count(AuditEvent)) == counts
