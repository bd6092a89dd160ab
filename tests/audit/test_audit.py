"""The audit trail: appended with each change, append-only, hash-chained (R4, R5)."""

from __future__ import annotations

import csv
import io
import itertools

import pytest
from flask.cli import FlaskGroup, ScriptInfo
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from portal.accounts import services as accounts
from portal.accounts.models import Role, User
from portal.audit.models import AuditEvent
from portal.audit.services import record, verify_chain
from portal.errors import DomainError
from portal.extensions import db
from tests.conftest import PASSWORD


def events(app, action: str | None = None) -> list[AuditEvent]:
    with app.app_context():
        stmt = select(AuditEvent).order_by(AuditEvent.seq)
        if action:
            stmt = stmt.where(AuditEvent.action == action)
        found = db.session.scalars(stmt).all()
        db.session.expunge_all()
        return found


def _bypass_triggers(connection, table: str = "audit_events"):
    """Tamper as an attacker with database access would: around the append-only triggers."""
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
    else:
        for name in ("audit_events_no_update", "audit_events_no_delete"):
            connection.execute(text(f"DROP TRIGGER IF EXISTS {name}"))


def cli(app, *args):
    group = FlaskGroup(create_app=lambda: app, load_dotenv=False, set_debug_flag=False)
    return app.test_cli_runner().invoke(group, list(args), obj=ScriptInfo(create_app=lambda: app))


def test_each_change_appends_a_chained_event(app, admin, consultant):
    with app.test_request_context():
        actor = db.session.get(User, admin)
        target = db.session.get(User, consultant)
        accounts.change_role(actor, target, Role.EDITOR)
        accounts.deactivate(actor, target)
        db.session.commit()
    trail = events(app)
    assert [e.action for e in trail][-2:] == ["account.role_changed", "account.deactivated"]
    assert [e.seq for e in trail] == list(range(1, len(trail) + 1))
    for before, after in itertools.pairwise(trail):
        assert after.prev_hash == before.hash
    role_change = trail[-2]
    assert role_change.actor_id == admin
    assert (role_change.object_type, role_change.object_id) == ("users", str(consultant))
    assert role_change.details == {"previous": "consultant", "role": "editor"}
    with app.app_context():
        assert verify_chain().intact


def test_a_refused_change_leaves_no_event(app, admin):
    before = len(events(app))
    with app.test_request_context():
        actor = db.session.get(User, admin)
        with pytest.raises(DomainError):
            accounts.deactivate(actor, actor)
        db.session.rollback()
    assert len(events(app)) == before


def test_change_and_event_commit_together_or_not_at_all(app, admin, consultant):
    before = len(events(app))
    with app.test_request_context():
        accounts.change_role(
            db.session.get(User, admin), db.session.get(User, consultant), Role.EDITOR
        )
        db.session.rollback()
        assert db.session.get(User, consultant).role is Role.CONSULTANT
    assert len(events(app)) == before


def test_secrets_are_refused_in_details(app, admin):
    with app.test_request_context(), pytest.raises(ValueError):
        record(db.session.get(User, admin), "account.test", None, password="x")


def test_sign_ins_and_failures_are_recorded_without_secrets(app, client, consultant):
    client.post_form("/login", {"email": "consultant@example.org", "password": "wrong password!"})
    client.post_form("/login", {"email": "nobody@example.org", "password": "wrong password!"})
    client.post_form("/login", {"email": "consultant@example.org", "password": PASSWORD})
    failed = events(app, "account.sign_in_failed")
    assert [(e.outcome, e.object_id) for e in failed] == [
        ("failure", str(consultant)),
        ("failure", None),
    ]
    assert [e.object_id for e in events(app, "account.sign_in")] == [str(consultant)]
    for event in events(app):
        assert "wrong password" not in event.detail and PASSWORD not in event.detail


def test_the_database_refuses_update_and_delete(app, admin):
    with app.test_request_context():
        record(db.session.get(User, admin), "account.test", None)
        db.session.commit()
    for statement in ("UPDATE audit_events SET action = 'forged'", "DELETE FROM audit_events"):
        with app.app_context(), pytest.raises(DBAPIError):
            db.session.execute(text(statement))
        with app.app_context():
            db.session.rollback()
    assert events(app)[-1].action == "account.test"


def test_postgresql_refuses_truncate(app, admin):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("TRUNCATE is a PostgreSQL statement")
        with pytest.raises(DBAPIError):
            db.session.execute(text("TRUNCATE audit_events"))
        db.session.rollback()


@pytest.fixture
def trail(app, admin, consultant):
    """Five events to tamper with."""
    with app.test_request_context():
        actor = db.session.get(User, admin)
        for n in range(5):
            record(actor, "account.test", None, n=n)
        db.session.commit()
    return [e.seq for e in events(app)]


def test_verify_names_an_altered_event(app, trail):
    target = trail[2]
    with app.app_context():
        with db.engine.begin() as connection:
            _bypass_triggers(connection)
            connection.execute(
                text("UPDATE audit_events SET detail = '{\"n\": 99}' WHERE seq = :seq"),
                {"seq": target},
            )
        report = verify_chain()
    assert (report.intact, report.broken_at) == (False, target)
    result = cli(app, "audit", "verify")
    assert result.exit_code == 1
    assert f"BROKEN at event {target}" in result.output


def test_verify_names_a_removed_event(app, trail):
    target = trail[1]
    with app.app_context():
        with db.engine.begin() as connection:
            _bypass_triggers(connection)
            connection.execute(text("DELETE FROM audit_events WHERE seq = :seq"), {"seq": target})
        report = verify_chain()
    assert (report.intact, report.broken_at) == (False, target)


def test_verify_notices_events_removed_from_the_end(app, trail):
    with app.app_context():
        with db.engine.begin() as connection:
            _bypass_triggers(connection)
            connection.execute(
                text("DELETE FROM audit_events WHERE seq = :seq"), {"seq": trail[-1]}
            )
        report = verify_chain()
    assert not report.intact
    assert report.broken_at == trail[-1]


def test_verify_command_passes_on_an_intact_trail(app, trail):
    result = cli(app, "audit", "verify")
    assert result.exit_code == 0, result.output
    assert f"{len(trail)} events" in result.output


def test_admins_browse_filter_and_export(app, client, auth, admin, consultant):
    auth.login("admin@example.org")
    with app.test_request_context():
        accounts.change_role(
            db.session.get(User, admin), db.session.get(User, consultant), Role.EDITOR
        )
        db.session.commit()
    page = client.get("/admin/audit?action=account.role").get_data(as_text=True)
    assert "account.role_changed" in page
    assert "account.sign_in<" not in page
    response = client.get("/admin/audit/export.csv?action=account.role")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:5] == ["seq", "at_utc", "actor_id", "actor", "action"]
    assert [row[4] for row in rows[1:]] == ["account.role_changed"]
    assert events(app)[-1].action == "audit.export"


def test_only_admins_see_the_trail(client, auth, editor):
    auth.login("editor@example.org")
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit/export.csv").status_code == 403


def test_bad_filters_do_not_break_the_page(client, auth, admin):
    auth.login("admin@example.org")
    response = client.get("/admin/audit?since=not-a-date&actor=abc&action=" + "x" * 500)
    assert response.status_code == 200


def test_every_state_change_in_a_journey_is_recorded(app, client, auth, editor, consultant):
    """Editor publishes and offers; the consultant accepts: each step leaves its event."""
    auth.login("editor@example.org")
    client.post_form("/reports/new", {"title_en": "Audit report", "year": "2027"})
    with app.app_context():
        report_id = db.session.scalar(
            select(func.max(AuditEvent.object_id)).where(AuditEvent.action == "report.created")
        )
    client.post_form(f"/reports/{report_id}/sections/new", {"title_en": "Intro"})
    actions = [e.action for e in events(app)]
    assert "report.created" in actions and "section.created" in actions


def test_export_cells_that_look_like_formulas_are_escaped(app, client, auth, make_user):
    """A display name is chosen by its owner: it must not run as a spreadsheet formula (CSV
    injection)."""
    admin_id = make_user("admin", email="boss@example.org", display_name="=HYPERLINK(1)")
    target = make_user("consultant", display_name="-2+3")
    auth.login("boss@example.org")
    with app.test_request_context():
        accounts.change_role(
            db.session.get(User, admin_id), db.session.get(User, target), Role.EDITOR
        )
        db.session.commit()
    response = client.get("/admin/audit/export.csv?action=account.role")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert [row[3] for row in rows[1:]] == ["'=HYPERLINK(1)"]
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows[1:] for cell in row)
