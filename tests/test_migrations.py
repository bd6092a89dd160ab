"""Migrations upgrade an empty database to head, and the models agree with them (security.md R6)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from portal.extensions import db


def test_models_match_migrations(app):
    """The app fixture's database was built by the migrations alone; autogenerate finds nothing."""
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_upgrade_downgrade_upgrade_from_empty(app):
    with app.app_context():
        downgrade(revision="base")
        tables = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert {t.name for t in db.metadata.sorted_tables} <= tables


def test_sqlite_connections_are_tuned(app):
    """Foreign keys on, WAL and a busy timeout on every SQLite connection."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            statement_timeout = db.session.execute(text("SHOW statement_timeout")).scalar()
            assert statement_timeout == "30s"
            return
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar() == 15000
