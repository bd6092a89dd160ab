"""`flask seed-bulk`: the data set's shape, its anchors, its states, and an intact audit trail.

On SQLite the command runs at scale 1, as an operator would run it (about half a minute). On
PostgreSQL, where each statement travels to a server, it runs at a tenth of that through the
hidden `--scale-fraction` option: the same code, the same 1,000-annotation section.
"""

from __future__ import annotations

import pytest
from flask.cli import FlaskGroup, ScriptInfo
from sqlalchemy import func, select

from portal.bulk import BulkPlan
from portal.extensions import db
from tests.conftest import PASSWORD, base_test_config


def flask_cli(app, *args):
    """Invoke a command through FlaskGroup, as the `flask` executable does."""
    group = FlaskGroup(create_app=lambda: app, load_dotenv=False, set_debug_flag=False)
    return app.test_cli_runner().invoke(group, list(args), obj=ScriptInfo(create_app=lambda: app))


@pytest.fixture
def scale(database_url) -> float:
    return 1 if database_url.startswith("sqlite") else 0.1


@pytest.fixture
def seeded(app, scale):
    option = ["--scale", "1"] if scale == 1 else ["--scale-fraction", str(scale)]
    result = flask_cli(app, "seed-bulk", "--password", PASSWORD, *option)
    assert result.exit_code == 0, result.output
    return result.output


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_seed_bulk_makes_the_planned_counts_and_every_state(app, scale, seeded):
    from portal.accounts.models import Role, User
    from portal.media.models import ConsentRecord, ConsentState, ItemKind, MediaItem, SignOff
    from portal.media.services import item_consent, items_of_sections
    from portal.notifications.models import OutboxMessage
    from portal.reports.models import Report, Section, SectionVersion
    from portal.review.models import (
        AnchorMethod,
        Annotation,
        AnnotationKind,
        AnnotationReply,
        AnnotationState,
        Decision,
        SectionDecision,
    )
    from portal.review.services import plain_text

    plan = BulkPlan.at_scale(scale)
    assert "Created:" in seeded and "Done in" in seeded
    with app.app_context():
        assert count(User, User.role == Role.CONSULTANT) == plan.consultants
        assert count(User, User.role == Role.EDITOR) == plan.editors
        assert count(Report) == plan.reports
        assert count(Section) == plan.sections
        assert count(SectionVersion) == 3 * plan.sections
        assert count(Annotation) == plan.annotations
        assert count(AnnotationReply) > plan.annotations // 2
        assert count(MediaItem, MediaItem.kind == ItemKind.PHOTO) == plan.photos
        assert count(MediaItem, MediaItem.kind == ItemKind.NARRATIVE) == plan.narratives
        # Bulk accounts are told in the portal only: nothing waits to be e-mailed.
        assert count(OutboxMessage) == 0

        # One section holds 1,000 annotations on a text of at least 10,000 words.
        big_id, on_big = db.session.execute(
            select(Annotation.section_id, func.count())
            .group_by(Annotation.section_id)
            .order_by(func.count().desc())
            .limit(1)
        ).one()
        assert on_big == 1_000
        big_text = db.session.scalar(
            select(SectionVersion.body_en)
            .where(SectionVersion.section_id == big_id)
            .order_by(SectionVersion.number.desc())
            .limit(1)
        )
        assert len(big_text.split()) >= 10_000

        # Every anchor quotes the text at its offsets in the version it is anchored to.
        texts: dict[tuple[int, str], str] = {}
        versions = {v.id: v for v in db.session.scalars(select(SectionVersion))}
        for a in db.session.scalars(select(Annotation)):
            key = (a.anchored_version_id, a.language)
            if key not in texts:
                texts[key] = plain_text(versions[a.anchored_version_id], a.language)
            assert texts[key][a.pos_start : a.pos_end] == a.quote_exact, a.id
        methods = set(db.session.scalars(select(Annotation.anchor_method).distinct()))
        assert {AnchorMethod.EXACT, AnchorMethod.ORPHAN} <= methods
        assert set(db.session.scalars(select(Annotation.kind).distinct())) == set(AnnotationKind)
        assert set(db.session.scalars(select(Annotation.state).distinct())) == set(AnnotationState)

        # Decisions in every state, and some made on a version since replaced.
        decisions = db.session.scalars(select(SectionDecision)).all()
        assert {d.decision for d in decisions} == set(Decision)
        latest = dict(
            db.session.execute(
                select(SectionVersion.section_id, func.max(SectionVersion.id)).group_by(
                    SectionVersion.section_id
                )
            ).all()
        )
        assert any(d.version_id != latest[d.section_id] for d in decisions)
        sign_offs = db.session.scalars(select(SignOff)).all()
        assert {s.decision.value for s in sign_offs} == {
            "approve",
            "approve_with_changes",
            "not_approved",
            "withdrawn",
        }
        items = items_of_sections(list(latest))
        newest = {item.id: item.latest.id for group in items.values() for item in group}
        assert any(s.version_id != newest[s.item_id] for s in sign_offs)

        # Consent in every state an editor meets, renewals included.
        states = {
            item_consent(item).state
            for group in items.values()
            for item in group
            if item.needs_consent
        }
        assert {
            ConsentState.VALID,
            ConsentState.EXPIRING,
            ConsentState.EXPIRED,
            ConsentState.WITHDRAWN,
            ConsentState.MISSING,
        } <= states
        assert count(ConsentRecord, ConsentRecord.replaces_id.is_not(None)) >= 1

    with app.test_request_context():
        from portal.accounts.services import authenticate

        assert authenticate("bulk-consultant-001@example.org", PASSWORD) is not None

    verified = flask_cli(app, "audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert "intact" in verified.output


def test_seed_bulk_runs_once_per_database(app, make_user):
    from portal.accounts.models import User

    make_user("consultant", email="bulk-consultant-001@example.org")
    result = flask_cli(app, "seed-bulk")
    assert result.exit_code == 1
    assert "already has bulk data" in result.output
    with app.app_context():
        assert count(User) == 1


def test_seed_bulk_refuses_production(app, database_url, tmp_path):
    from portal import create_app
    from portal.accounts.models import User

    production = create_app(
        {**base_test_config(database_url, tmp_path), "PORTAL_ENV": "production"}
    )
    try:
        result = flask_cli(production, "seed-bulk")
        assert result.exit_code == 1
        assert "PORTAL_ENV=production" in result.output
        with production.app_context():
            assert count(User) == 0
    finally:
        with production.app_context():
            db.session.remove()
            db.engine.dispose()
