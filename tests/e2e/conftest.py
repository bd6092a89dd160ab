"""Real-browser tests: Playwright drives Debian's Chromium against a live portal server.

The portal runs for the whole session in a thread (werkzeug's threaded server) on **SQLite only**:
a copy of the migrated template from the top-level `sqlite_template` fixture, with the demo accounts
loaded by the `seed-demo` command. The top-level `app` / `database_url` fixtures, parametrized over
SQLite and PostgreSQL, are deliberately not used here: one live server per session keeps the folder
fast, and the database engines are covered by the view and service tests.

The demo data is shared by every test of the session, so a test never changes what another relies
on: tests that change an account (its language, its password) create an account of their own.

There is no outside network. The quick-exit destination (`PORTAL_QUICK_EXIT_URL`, set to
https://neutral.example.com/ by `base_test_config`) is answered by the browser context itself with
a tiny page; any other request that leaves the portal is blocked and fails the test (the portal
makes no third-party requests, trauma-informed.md).

Chromium comes from Debian (testing.md); Playwright never downloads a browser. Where it is missing
the whole folder is skipped with a message that says how to install it.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from portal.cli import DEMO_PASSWORD

E2E_DIR = Path(__file__).resolve().parent
TOP_CONFTEST = E2E_DIR.parent / "conftest.py"

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CHROMIUM_MISSING = (
    f"Chromium not found at {CHROMIUM!r}: the real-browser tests need Debian's Chromium. "
    "Install it with `apt-get install -y chromium` (about 30 s), or set CHROMIUM_PATH to a "
    "Chromium binary. Playwright's own browser download is not used here."
)

NEUTRAL_URL = "https://neutral.example.com/"
NEUTRAL_PAGE = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Weather</title></head>"
    "<body><h1>Today's weather</h1><p>Mild, with light wind.</p></body></html>"
)


def chromium_available() -> bool:
    return os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)


def _in_this_folder(item: pytest.Item) -> bool:
    return E2E_DIR in Path(str(item.path)).resolve().parents


def pytest_collection_modifyitems(config, items):
    if chromium_available():
        return
    skip = pytest.mark.skip(reason=CHROMIUM_MISSING)
    for item in items:
        if _in_this_folder(item):
            item.add_marker(skip)


# Browser ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # A fixed browser language, so anonymous pages start in English whatever the machine says.
    return {**browser_context_args, "locale": "en-US", "viewport": {"width": 1280, "height": 900}}


# Live server -----------------------------------------------------------------------------------


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class LiveServer:
    url: str
    app: object
    errors: _ListHandler

    def server_errors_since(self, index: int) -> list[str]:
        formatter = logging.Formatter("%(name)s %(levelname)s: %(message)s")
        return [formatter.format(record) for record in self.errors.records[index:]]


class _CloseResponses:
    """WSGI middleware: always close the response, even when the browser hangs up mid-way.

    Werkzeug's development server skips `close()` when the client resets the connection while
    it drains the request (a page left while its scripts still load, as quick exit does); the
    open static file then raises a ResourceWarning at some later garbage collection, which fails
    an unrelated test (warnings are errors). Production servers are not concerned.
    """

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        return _ClosingIterable(self.app(environ, start_response))


class _ClosingIterable:
    def __init__(self, inner) -> None:
        self.inner = inner
        self.closed = False

    def __iter__(self):
        try:
            yield from self.inner
        finally:
            self.close()  # also runs when an abandoned iteration is garbage collected

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            close = getattr(self.inner, "close", None)
            if close is not None:
                close()


def _top_conftest(config: pytest.Config):
    """The top-level tests/conftest.py module, as pytest loaded it (whether or not tests/ is a
    package, so no import by name)."""
    for plugin in config.pluginmanager.get_plugins():
        path = getattr(plugin, "__file__", None)
        if path and Path(path).resolve() == TOP_CONFTEST:
            return plugin
    raise RuntimeError(f"{TOP_CONFTEST} is not loaded")


@pytest.fixture(scope="session")
def live_server(request, sqlite_template, tmp_path_factory):
    """The portal on a copy of the migrated SQLite template with the demo accounts, in a thread."""
    from werkzeug.serving import make_server

    from portal import create_app
    from portal.extensions import db

    tmp = tmp_path_factory.mktemp("e2e-server")
    database = tmp / "portal.sqlite3"
    shutil.copy(sqlite_template, database)
    config = _top_conftest(request.config).base_test_config(f"sqlite:///{database}", tmp)
    config.update(
        PORTAL_ENV="testing",
        # Behave as deployed: errors render the portal's own 500 page and are logged.
        PROPAGATE_EXCEPTIONS=False,
        # The demo accounts have no authenticator app; whatever the environment says.
        PORTAL_SECOND_FACTOR_ROLES=frozenset(),
        PORTAL_MAIL_SERVER="",
        # Every browser context comes from 127.0.0.1; rate limits are covered by the view tests.
        PORTAL_LOGIN_LIMIT_PER_ADDRESS="1000 per minute",
    )
    app = create_app(config)
    assert app.config["PORTAL_QUICK_EXIT_URL"] == NEUTRAL_URL, "the route below answers this URL"

    # The `seed-demo` command, as `flask seed-demo` runs it.
    seeded = app.test_cli_runner().invoke(args=["seed-demo"])
    assert seeded.exit_code == 0, seeded.output
    assert "Demo data is ready" in seeded.output, seeded.output

    # Keep the server's errors (with tracebacks) to fail the test that caused them; leave out
    # werkzeug's line per request, which would bury them in a failure report.
    errors = _ListHandler()
    werkzeug_logger = logging.getLogger("werkzeug")
    werkzeug_level = werkzeug_logger.level
    werkzeug_logger.setLevel(logging.WARNING)
    loggers = [werkzeug_logger, app.logger]
    for logger in loggers:
        logger.addHandler(errors)

    server = make_server("127.0.0.1", 0, _CloseResponses(app), threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    # One-time links are built from PORTAL_BASE_URL; point them at this server.
    app.config["PORTAL_BASE_URL"] = url
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=url, app=app, errors=errors)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        for logger in loggers:
            logger.removeHandler(errors)
        werkzeug_logger.setLevel(werkzeug_level)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="session")
def base_url(live_server) -> str:
    return live_server.url


# Contexts: routing, and checks that run after every test ---------------------------------------


@dataclass
class _Watch:
    foreign_requests: list[str] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)


@pytest.fixture
def _watch() -> _Watch:
    return _Watch()


def _guard(context, base_url: str, watch: _Watch) -> None:
    """Answer the neutral quick-exit page locally; block (and record) any other outside request.

    Also record uncaught script errors and Content-Security-Policy refusals: either would mean a
    control such as quick exit may silently not work.
    """

    def on_console(message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            watch.script_errors.append(f"{message.text} (at {message.location.get('url')})")

    context.on("weberror", lambda error: watch.script_errors.append(str(error.error)))
    context.on("console", on_console)

    def handle(route) -> None:
        url = route.request.url
        if url.startswith(base_url + "/"):
            route.continue_()
        elif url.startswith(NEUTRAL_URL):
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=NEUTRAL_PAGE)
        else:
            watch.foreign_requests.append(url)
            route.abort()

    context.route("**/*", handle)


@pytest.fixture
def fresh_context(new_context, base_url, _watch):
    """Make another browser context (another person, no shared cookies), routed like `context`."""

    def make(**kwargs):
        context = new_context(**kwargs)
        _guard(context, base_url, _watch)
        return context

    return make


@pytest.fixture
def context(fresh_context):
    return fresh_context()


@pytest.fixture(autouse=True)
def _after_each_test(request, live_server, _watch):
    """Fail a test whose pages made third-party requests, had script errors or CSP refusals, or
    made the server log an error."""
    start = len(live_server.errors.records)
    yield
    if request.node.get_closest_marker("xfail"):
        return  # its failure is already expected; do not turn it into a teardown error
    problems = []
    if _watch.foreign_requests:
        foreign = ", ".join(_watch.foreign_requests)
        problems.append(f"The pages asked for third-party resources: {foreign}")
    if _watch.script_errors:
        problems.append("Script errors in the pages: " + "; ".join(_watch.script_errors))
    errors = live_server.server_errors_since(start)
    if errors:
        problems.append("The server logged errors:\n" + "\n".join(errors))
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


# Accessibility ---------------------------------------------------------------------------------

FAILING_IMPACTS = ("serious", "critical")
# Every violation of the session, for the summary at the end: (page, lang, rule, impact) -> line.
AXE_SEEN: dict[tuple[str, str, str, str], str] = {}


def axe_check(page) -> None:
    """Scan the page with axe-core; fail on serious or critical violations, print the others."""
    from axe_playwright_python.sync_playwright import Axe

    page.wait_for_load_state("load")  # after a click that navigates, scan the new page whole
    results = Axe().run(page)
    lang = page.evaluate("document.documentElement.lang")
    path = re.sub(r"/(invitation|reset)/[^/]+", r"/\1/<token>", urlpath(page.url))
    where = f"{path} [lang={lang}]"
    failing, minor = [], []
    for violation in results.response["violations"]:
        targets = [" ".join(map(str, node["target"])) for node in violation["nodes"][:3]]
        line = (
            f"{violation['id']} ({violation['impact']}): {violation['help']} "
            f"— {len(violation['nodes'])} node(s), e.g. {'; '.join(targets)}"
        )
        AXE_SEEN[(path, lang, violation["id"], violation["impact"] or "")] = line
        (failing if violation["impact"] in FAILING_IMPACTS else minor).append(line)
    for line in minor:
        print(f"axe (not failing) on {where}: {line}")
    assert not failing, f"axe found serious/critical violations on {where}:\n" + "\n".join(failing)


@pytest.fixture
def axe():
    return axe_check


AXE_SUMMARY_TITLE = "axe-core violations seen in the browser tests (page, language)"


def _axe_summary_lines() -> list[str]:
    return [f"{path} [{lang}]: {line}" for (path, lang, _r, _i), line in sorted(AXE_SEEN.items())]


def pytest_sessionfinish(session):
    # A pytest-xdist worker hands its lines to the main process, which prints them for the
    # whole run (tests/conftest.py, `_SummariesFromWorkers`).
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None and AXE_SEEN:
        workeroutput.setdefault("summary_sections", {})[AXE_SUMMARY_TITLE] = _axe_summary_lines()


def pytest_terminal_summary(terminalreporter):
    if not AXE_SEEN:
        return
    terminalreporter.section(AXE_SUMMARY_TITLE)
    for line in _axe_summary_lines():
        terminalreporter.write_line(line)


# People and UI helpers -------------------------------------------------------------------------


@dataclass
class Person:
    email: str
    display_name: str
    password: str = DEMO_PASSWORD


@pytest.fixture
def make_account(live_server):
    """Create an account of this test's own (the demo accounts are shared by the session)."""
    from portal.accounts import services
    from portal.accounts.models import Role
    from portal.extensions import db

    def make(role: str = "consultant", *, locale: str = "en", name: str | None = None) -> Person:
        tag = uuid.uuid4().hex[:8]
        person = Person(
            email=f"e2e-{role}-{tag}@example.org",
            display_name=name or f"Tester {tag}",
            password=f"e2e passphrase {tag} for the browser",
        )
        with live_server.app.app_context():
            services.create_user(
                email=person.email,
                display_name=person.display_name,
                role=Role(role),
                locale=locale,
                legal_name=None,
                password=person.password,
            )
            db.session.commit()
        return person

    return make


def sign_in(page, email: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the form (located by id, so it works in either language)."""
    page.goto("/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    with page.expect_navigation():
        page.locator("main form [type=submit]").click()
    assert urlpath(page.url) != "/login", "sign-in failed: " + page.locator("main").inner_text()


def sign_out_button(page):
    return page.locator("header form[action$='/logout'] button[type=submit]")


def language_switcher(page):
    return page.locator("header form.portal-lang-switch button[type=submit]")


def urlpath(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url).split("?")[0].split("#")[0] or "/"


@pytest.fixture
def ui():
    """Small UI helpers shared by the test modules (they cannot import this conftest by name)."""

    class UI:
        sign_in = staticmethod(sign_in)
        sign_out_button = staticmethod(sign_out_button)
        language_switcher = staticmethod(language_switcher)
        urlpath = staticmethod(urlpath)
        demo_password = DEMO_PASSWORD
        neutral_url = NEUTRAL_URL

    return UI
