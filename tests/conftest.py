"""Shared fixtures: an app per test on SQLite (always) and PostgreSQL (when configured).

Set PORTAL_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test to run every
database-backed test on PostgreSQL too; each run works in a database of its own, created from
that URL and dropped at the end.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from jinja2 import BytecodeCache
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "a long and unusual test passphrase"
PG_URL_ENV = "PORTAL_TEST_DATABASE_URL"
CHEAP_ARGON2 = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}


# Tests that must run in one process, one after the other, when pytest-xdist spreads the suite
# over several: the two-instance test's module-scoped deployment flushes and counts on Redis
# database 15, which two copies of it at once would share.
XDIST_GROUPS = {"test_two_instances.py": "two-instances"}


def pytest_configure(config):
    _cache_url_builders()
    if hasattr(config, "workerinput"):
        return  # a pytest-xdist worker: the controller has done the one-time work below
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_SummariesFromWorkers(), "portal-summaries-from-workers")
    _compile_translations()
    if not os.environ.get("SECRET_KEY", "").strip():
        # create_app() makes the instance folder's secret key on first use; make it once here,
        # so that parallel workers on a fresh checkout do not race to create the same file.
        from portal.config import local_secret_key

        local_secret_key(PROJECT_ROOT / "instance")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config, items):
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        group = XDIST_GROUPS.get(item.path.name)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))


class _SummariesFromWorkers:
    """Under pytest-xdist, summary sections that conftests gather in the workers (the axe-core
    findings of tests/e2e) are sent to the main process at the end, and printed here."""

    def __init__(self) -> None:
        self.sections: dict[str, set[str]] = {}

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error):
        output = getattr(node, "workeroutput", None) or {}
        for title, lines in output.get("summary_sections", {}).items():
            self.sections.setdefault(title, set()).update(lines)

    def pytest_terminal_summary(self, terminalreporter):
        for title, lines in sorted(self.sections.items()):
            terminalreporter.section(title)
            for line in sorted(lines):
                terminalreporter.write_line(line)


def _cache_url_builders() -> None:
    """Compile each route's URL builder once per test process instead of once per app.

    Every test builds a new app, and about 80% of `create_app()` is werkzeug generating and
    compiling, for each of the ~100 routes, two URL-builder functions. Such a function depends
    only on what `Rule._compile_builder` reads (the rule's parsed parts, its defaults, their
    converters) and takes the rule as its first argument (it is bound to each rule), so one
    compiled for an identical rule of an earlier app is the very same code. The app under test
    is unchanged; only the repeated compiling is skipped. Should werkzeug change that private
    method, the cache stands aside and werkzeug compiles as usual.
    """
    from werkzeug.routing.rules import Rule

    original = Rule.__dict__.get("_compile_builder")
    if original is None or getattr(original, "_portal_test_cache", False):
        return
    builders: dict = {}

    def compile_builder(self, append_unknown: bool = True):
        try:
            defaults = self.defaults or {}
            key = (
                self.rule,
                tuple(self._trace),
                tuple(sorted((name, repr(value)) for name, value in defaults.items())),
                tuple((name, type(conv)) for name, conv in self._converters.items()),
                append_unknown,
            )
            hash(key)
        except (AttributeError, TypeError):
            return original(self, append_unknown)
        builder = builders.get(key)
        if builder is None:
            builder = builders[key] = original(self, append_unknown)
        return builder

    compile_builder._portal_test_cache = True
    Rule._compile_builder = compile_builder


class _TemplateCache(BytecodeCache):
    """Jinja's compiled templates, shared by the apps of one test process.

    Each test's new app has a Jinja environment of its own, which compiled every template a
    test renders again (a third of the time of a view test). This is Jinja's own bytecode-cache
    interface, kept in memory: a template is reused only while its source has the same checksum
    (an edited template is compiled again), and only for an environment that parses the same way
    (the settings below, identical for every app the tests build, are part of the key).
    """

    def __init__(self) -> None:
        self._compiled: dict[str, tuple[str, object]] = {}

    def get_bucket(self, environment, name, filename, source):
        autoescape = environment.autoescape
        settings = (
            sorted(environment.extensions),
            "callable" if callable(autoescape) else autoescape,
            environment.finalize is not None,
            environment.optimized,
            environment.is_async,
            environment.block_start_string,
            environment.block_end_string,
            environment.variable_start_string,
            environment.variable_end_string,
            environment.comment_start_string,
            environment.comment_end_string,
            environment.line_statement_prefix,
            environment.line_comment_prefix,
            environment.trim_blocks,
            environment.lstrip_blocks,
            environment.newline_sequence,
            environment.keep_trailing_newline,
        )
        return super().get_bucket(environment, f"{settings!r}{name}", filename, source)

    def load_bytecode(self, bucket) -> None:
        found = self._compiled.get(bucket.key)
        if found is not None and found[0] == bucket.checksum:
            bucket.code = found[1]

    def dump_bytecode(self, bucket) -> None:
        self._compiled[bucket.key] = (bucket.checksum, bucket.code)


TEMPLATE_CACHE = _TemplateCache()


def _compile_translations() -> None:
    """Compile the catalogs if `make translations` has not (the tests read the .mo files)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in (PROJECT_ROOT / "translations").glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as handle:
            catalog = read_po(handle)
        with mo_path.open("wb") as handle:
            write_mo(handle, catalog)


def base_test_config(database_url: str, tmp_path: Path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-" + "x" * 32,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "PORTAL_ARGON2": CHEAP_ARGON2,
        "PORTAL_UPLOAD_DIR": str(tmp_path / "uploads"),
        "PORTAL_MAIL_FOLDER": str(tmp_path / "mail"),
        "PORTAL_BASE_URL": "https://portal.example.org",
        "PORTAL_QUICK_EXIT_URL": "https://neutral.example.com/",
        "RATELIMIT_STORAGE_URI": "memory://",
    }


def _migrate(database_url: str, tmp_path: Path) -> None:
    from flask_migrate import upgrade

    from portal import create_app

    app = create_app(base_test_config(database_url, tmp_path))
    with app.app_context():
        upgrade()
        from portal.extensions import db

        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file migrated to head once; each test gets a copy."""
    directory = tmp_path_factory.mktemp("sqlite-template")
    path = directory / "template.sqlite3"
    _migrate(f"sqlite:///{path}", directory)
    return path


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory) -> str:
    """A fresh PostgreSQL database for this run, migrated to head, dropped afterwards."""
    base = os.environ.get(PG_URL_ENV)
    if not base:
        pytest.skip(f"PostgreSQL run skipped: set {PG_URL_ENV} to a postgresql+psycopg:// URL")
    name = f"portal_test_{uuid.uuid4().hex[:10]}"
    admin_engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        # A throwaway database: no need to wait for each commit to reach the disk. Its data,
        # locking and visibility are the same; only a crash of the server could lose it.
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    _migrate(url, tmp_path_factory.mktemp("pg"))
    yield url
    with admin_engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin_engine.dispose()


def _truncate_all(app) -> None:
    from portal.extensions import db

    with app.app_context():
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        # The audit trail refuses TRUNCATE (security.md R5); tests lift that for their own reset.
        db.session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.session.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
        db.session.execute(
            text("INSERT INTO audit_chain_head (id, last_seq, last_hash) VALUES (1, 0, :genesis)"),
            {"genesis": "0" * 64},
        )
        # The checklists a new database starts with (loaded by their migration).
        from portal.media.checklist_defaults import default_rows
        from portal.media.models import ChecklistCriterion

        db.session.add_all(ChecklistCriterion(**row) for row in default_rows())
        db.session.commit()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "portal.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    return request.getfixturevalue("postgres_url")


class PortalClient(FlaskClient):
    """A test client that fetches a CSRF token for form posts, as a browser would have one."""

    def csrf_token(self) -> str:
        response = self.get("/login")
        if response.status_code == 302:
            response = self.get("/account", follow_redirects=True)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', response.get_data(as_text=True))
        assert match, "no CSRF token on the page"
        return match.group(1)

    def post_form(self, url: str, data: dict | None = None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=data, **kwargs)


@pytest.fixture
def app(database_url, tmp_path):
    from portal import create_app
    from portal.extensions import db, limiter

    app = create_app(base_test_config(database_url, tmp_path))
    app.test_client_class = PortalClient
    app.jinja_env.bytecode_cache = TEMPLATE_CACHE
    if database_url.startswith("postgresql"):
        _truncate_all(app)
    limiter.reset()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app) -> PortalClient:
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    """Create an account; returns its id (objects do not outlive the app context)."""
    from portal.accounts import services
    from portal.accounts.models import Role
    from portal.extensions import db

    counter = iter(range(1, 10_000))

    def make(
        role: str = "consultant",
        *,
        email: str | None = None,
        display_name: str | None = None,
        password: str | None = PASSWORD,
        active: bool = True,
        legal_name: str | None = None,
        locale: str = "en",
    ) -> int:
        n = next(counter)
        with app.app_context():
            user = services.create_user(
                email=email or f"{role}{n}@example.org",
                display_name=display_name or f"{role.title()} {n}",
                role=Role(role),
                locale=locale,
                legal_name=legal_name,
                password=password,
            )
            user.active = active
            db.session.commit()
            return user.id

    return make


@pytest.fixture
def admin(make_user) -> int:
    return make_user(
        "admin", email="admin@example.org", display_name="Morgan", legal_name="Morgan Ellis"
    )


@pytest.fixture
def editor(make_user) -> int:
    return make_user("editor", email="editor@example.org", display_name="Camille")


@pytest.fixture
def consultant(make_user) -> int:
    return make_user(
        "consultant",
        email="consultant@example.org",
        display_name="Amara",
        legal_name="Amara Okafor",
    )


@pytest.fixture
def consultant2(make_user) -> int:
    return make_user(
        "consultant",
        email="consultant2@example.org",
        display_name="River",
        legal_name="Sophie Tremblay",
    )


@pytest.fixture
def deactivated(make_user) -> int:
    return make_user("consultant", email="gone@example.org", display_name="Former", active=False)


class AuthActions:
    def __init__(self, client: PortalClient, app) -> None:
        self._client = client
        self._app = app

    def login(self, email: str, password: str = PASSWORD, **kwargs):
        return self._client.post_form("/login", {"email": email, "password": password}, **kwargs)

    def login_as(self, user_id: int):
        from portal.accounts.models import User
        from portal.extensions import db

        with self._app.app_context():
            email = db.session.get(User, user_id).email
        response = self.login(email)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return response

    def logout(self):
        return self._client.post_form("/logout")


@pytest.fixture
def auth(client, app) -> AuthActions:
    return AuthActions(client, app)


@pytest.fixture
def get_user(app):
    """Read an account fresh from the database."""
    from portal.accounts.models import User
    from portal.extensions import db

    def read(user_id: int) -> User:
        with app.app_context():
            user = db.session.get(User, user_id)
            db.session.expunge(user)
            return user

    return read


def pytest_terminal_summary(terminalreporter):
    """One line per reason for skipped tests, instead of one line per test."""
    reasons: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    for reason, count in sorted(reasons.items()):
        terminalreporter.write_line(f"SKIPPED {count} tests: {reason}")
