"""Load benchmark: the portal under gunicorn, side by side with a bare Flask "hello world".

Run it through `bench/run` (which installs wrk and the virtual environment first); see
bench/README.md for what it measures and how to read the figures. A benchmark, not a test: it
prints figures, writes them as JSON and never fails on time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LUA = ROOT / "bench" / "wrk" / "report.lua"
BULK_PASSWORD = "demo-portal-password"
SECRET_KEY = "bench-only-secret-key-" + "x" * 32
RUN_DATABASE = "portal_bench_run"


# What is measured ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    key: str
    label: str
    who: str  # "anonymous", "consultant" or "editor"
    method: str = "GET"
    heavy: bool = False  # the lower target (5% of the baseline instead of 15%)


PAGES = (
    Page("sign_in", "Sign-in page", "anonymous"),
    Page("dashboard", "Consultant dashboard", "consultant"),
    Page("report_matrix", "Editor's report matrix", "editor"),
    Page("review_1000", "Review page, 1,000 annotations", "consultant", heavy=True),
    Page("thumbnail", "Photo thumbnail", "consultant"),
    Page("clearance", "Clearance report, largest report", "editor", heavy=True),
    Page("annotate_post", "Annotation POST", "consultant", method="POST"),
)
TARGET_PERCENT = {False: 15.0, True: 5.0}
TAIL_RATIO_TARGET = 5.0  # p99 <= 5 x p50 at 4 clients
TAIL_AT_CLIENTS = 4
RSS_TARGET_MB = 200.0


def gunicorn_settings(workers: int) -> list[str]:
    """The same settings for the baseline and the portal."""
    return [
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--timeout",
        "120",
        "--log-level",
        "warning",
        "--access-logfile",
        "-" if os.environ.get("BENCH_ACCESS_LOG") else "/dev/null",
    ]


# Data sets ----------------------------------------------------------------------------------


def migration_head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return ScriptDirectory.from_config(config).get_current_head()


def dataset_key(scale: int) -> dict:
    """What a built data set depends on: rebuilt when the schema or the generator changes."""
    generator = hashlib.sha256((ROOT / "portal" / "bulk.py").read_bytes()).hexdigest()[:16]
    return {"scale": scale, "migration_head": migration_head(), "generator": generator}


def portal_env(database_url: str, uploads: Path, mail: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "DATABASE_"))}
    env.update(
        {
            "PORTAL_ENV": "production",
            "SECRET_KEY": SECRET_KEY,
            "DATABASE_URL": database_url,
            "PORTAL_BASE_URL": "https://bench.invalid",
            "PORTAL_UPLOAD_DIR": str(uploads),
            "PORTAL_MAIL_FOLDER": str(mail),
            # wrk cannot answer a second-factor challenge; the pages cost the same either way.
            "PORTAL_SECOND_FACTOR_ROLES": "",
            # The benchmark signs each account in once per engine; keep the limits out of the way.
            "PORTAL_LOGIN_LIMIT_PER_ADDRESS": "1000 per minute",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def flask(env: dict, *args: str) -> None:
    subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env, check=True)


class Engine:
    """A data set on one database engine: built once per scale, copied for every run."""

    name: str

    def __init__(self, data_dir: Path, scale: int) -> None:
        self.scale = scale
        self.home = data_dir / f"{self.name}-s{scale}"
        self.uploads = self.home / "uploads"
        self.marker = self.home / "ready.json"

    def ready(self) -> bool:
        if not self.marker.exists():
            return False
        recorded = json.loads(self.marker.read_text())
        return recorded.get("key") == dataset_key(self.scale) and self.exists()

    def prepare(self) -> None:
        if self.ready():
            print(f"[{self.name}] reusing the scale-{self.scale} data set in {self.home}")
            return
        print(f"[{self.name}] building the scale-{self.scale} data set (minutes at scale 10)…")
        shutil.rmtree(self.home, ignore_errors=True)
        self.uploads.mkdir(parents=True)
        self.drop_source()
        started = time.monotonic()
        # seed-bulk refuses production; the data set is then served in production mode.
        env = portal_env(self.source_url(), self.uploads, self.home / "mail")
        env["PORTAL_ENV"] = "development"
        flask(env, "db", "upgrade")
        flask(env, "seed-bulk", "--scale", str(self.scale), "--password", BULK_PASSWORD)
        self.marker.write_text(
            json.dumps(
                {"key": dataset_key(self.scale), "seconds": round(time.monotonic() - started)}
            )
        )

    def env(self, run_dir: Path) -> dict[str, str]:
        return portal_env(self.run_url(run_dir), self.uploads, run_dir / "mail")


class SQLiteEngine(Engine):
    name = "sqlite"

    def source_url(self) -> str:
        return f"sqlite:///{self.home / 'portal.sqlite3'}"

    def exists(self) -> bool:
        return (self.home / "portal.sqlite3").exists()

    def drop_source(self) -> None:
        pass

    def fresh_copy(self, run_dir: Path) -> None:
        shutil.copy(self.home / "portal.sqlite3", run_dir / "portal.sqlite3")

    def run_url(self, run_dir: Path) -> str:
        return f"sqlite:///{run_dir / 'portal.sqlite3'}"

    def drop_copy(self) -> None:
        pass


class PostgresEngine(Engine):
    name = "postgresql"

    def __init__(self, data_dir: Path, scale: int, server_url: str) -> None:
        super().__init__(data_dir, scale)
        from sqlalchemy.engine import make_url

        self.server = make_url(server_url)
        self.source = f"portal_bench_s{scale}"

    def _admin(self, *statements: str) -> list:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.server.set(database="postgres"), isolation_level="AUTOCOMMIT")
        results = []
        try:
            with engine.connect() as conn:
                for statement in statements:
                    result = conn.execute(text(statement))
                    results.append(result.fetchall() if result.returns_rows else None)
        finally:
            engine.dispose()
        return results

    def source_url(self) -> str:
        return self.server.set(database=self.source).render_as_string(hide_password=False)

    def run_url(self, run_dir: Path) -> str:
        return self.server.set(database=RUN_DATABASE).render_as_string(hide_password=False)

    def exists(self) -> bool:
        rows = self._admin(f"SELECT 1 FROM pg_database WHERE datname = '{self.source}'")[0]
        return bool(rows)

    def drop_source(self) -> None:
        self._admin(
            f'DROP DATABASE IF EXISTS "{self.source}" WITH (FORCE)',
            f'CREATE DATABASE "{self.source}"',
        )

    def fresh_copy(self, run_dir: Path) -> None:
        self._admin(
            f'DROP DATABASE IF EXISTS "{RUN_DATABASE}" WITH (FORCE)',
            f'CREATE DATABASE "{RUN_DATABASE}" TEMPLATE "{self.source}"',
        )

    def drop_copy(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{RUN_DATABASE}" WITH (FORCE)')


# What the benchmark asks for ----------------------------------------------------------------


@dataclass
class Targets:
    consultant_email: str
    editor_email: str
    urls: dict[str, str]
    post_section: int
    post_span: tuple[int, int]
    facts: dict = field(default_factory=dict)


def discover(env: dict[str, str]) -> Targets:
    """Pick the accounts and pages from the data set (ids differ between builds)."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        from sqlalchemy import func, select

        from portal import create_app
        from portal.accounts.models import Role, User
        from portal.assignments.models import Assignment, AssignmentState
        from portal.extensions import db
        from portal.media.models import ItemKind, MediaItem
        from portal.reports.models import Section
        from portal.review import services as review
        from portal.review.models import Annotation

        app = create_app()
        with app.app_context():
            big_id, big_count = db.session.execute(
                select(Annotation.section_id, func.count())
                .group_by(Annotation.section_id)
                .order_by(func.count().desc())
                .limit(1)
            ).one()
            big = db.session.get(Section, big_id)
            working = (
                AssignmentState.ACCEPTED,
                AssignmentState.IN_REVIEW,
                AssignmentState.SUBMITTED,
            )
            consultant = db.session.scalars(
                select(User)
                .join(Assignment, Assignment.consultant_id == User.id)
                .where(
                    Assignment.section_id == big_id,
                    Assignment.state.in_(working),
                    User.active.is_(True),
                    User.email.like("bulk-consultant-%"),
                )
                .order_by(User.id)
            ).first()
            if consultant is None or big.independent_review:
                raise SystemExit("bench: no consultant working on the 1,000-annotation section")
            seen = len(review.visible_annotations(consultant, big))
            other = db.session.scalars(
                select(Section)
                .join(Assignment, Assignment.section_id == Section.id)
                .where(
                    Assignment.consultant_id == consultant.id,
                    Assignment.state.in_(working),
                    Section.id != big_id,
                )
                .order_by(Section.id)
            ).first()
            if other is None:
                raise SystemExit("bench: the consultant works on no other section to annotate")
            text = review.plain_text(review.latest_version(other), "en")
            editor = db.session.scalars(
                select(User).where(User.role == Role.EDITOR, User.email.like("bulk-editor-%"))
            ).first()
            largest_report = db.session.execute(
                select(Section.report_id, func.count())
                .group_by(Section.report_id)
                .order_by(func.count().desc())
                .limit(1)
            ).one()
            photo = (
                db.session.scalars(
                    select(MediaItem)
                    .where(MediaItem.kind == ItemKind.PHOTO, MediaItem.section_id == big_id)
                    .order_by(MediaItem.id)
                ).first()
                or db.session.scalars(
                    select(MediaItem)
                    .join(Assignment, Assignment.section_id == MediaItem.section_id)
                    .where(
                        MediaItem.kind == ItemKind.PHOTO,
                        Assignment.consultant_id == consultant.id,
                        Assignment.state.in_(working),
                    )
                    .order_by(MediaItem.id)
                ).first()
            )
            if photo is None:
                raise SystemExit("bench: no photo on the consultant's sections")
            photo_version = photo.versions[-1].number
            counts = {
                "sections": db.session.scalar(select(func.count()).select_from(Section)),
                "annotations": db.session.scalar(select(func.count()).select_from(Annotation)),
                "users": db.session.scalar(select(func.count()).select_from(User)),
                "largest_report_sections": largest_report[1],
                "big_section_annotations": big_count,
                "big_section_annotations_seen_by_consultant": seen,
            }
            start = min(40, max(1, len(text) // 4))
            targets = Targets(
                consultant_email=consultant.email,
                editor_email=editor.email,
                urls={
                    "sign_in": "/login",
                    "dashboard": "/assignments",
                    "report_matrix": f"/reports/{largest_report[0]}",
                    "review_1000": f"/sections/{big_id}/read?continue=1",
                    "thumbnail": f"/items/{photo.id}/versions/{photo_version}/thumb",
                    "clearance": f"/reports/{largest_report[0]}/clearance",
                    "annotate_post": f"/sections/{other.id}/annotate",
                },
                post_section=other.id,
                post_span=(start, start + 24),
                facts=counts,
            )
            db.engine.dispose()
        return targets
    finally:
        os.environ.clear()
        os.environ.update(saved)


# Servers and clients ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, app: str, env: dict[str, str], workers: int, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                *gunicorn_settings(workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                app,
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=self.log,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"bench: gunicorn {app} exited; see {log}")
            try:
                urllib.request.urlopen(self.base + "/", timeout=2)  # noqa: S310 (loopback)
                return
            except urllib.error.HTTPError:
                return  # it answers (a redirect to sign in is an answer)
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"bench: gunicorn {app} did not answer within 60 s")

    def worker_rss_mb(self) -> list[float]:
        """Resident memory of each worker (the children of the gunicorn master)."""
        sizes = []
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                text = status.read_text()
            except OSError:
                continue
            ppid = re.search(r"^PPid:\s+(\d+)", text, re.M)
            rss = re.search(r"^VmRSS:\s+(\d+) kB", text, re.M)
            if ppid and rss and int(ppid.group(1)) == self.process.pid:
                sizes.append(int(rss.group(1)) / 1024)
        return sizes

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def merge_cookies(cookie: str, headers) -> str:
    """The Cookie header after a response's Set-Cookie lines (as a browser would keep it)."""
    jar = dict(part.split("=", 1) for part in cookie.split("; ") if "=" in part)
    for value in headers.get_all("Set-Cookie") or []:
        name, _, rest = value.partition("=")
        jar[name.strip()] = rest.split(";", 1)[0]
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def fetch(base: str, path: str, cookie: str = "", data: dict | None = None):
    """One request without following redirects; returns (status, headers, body text)."""
    opener = urllib.request.build_opener(NoRedirect)
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(base + path, data=body)  # noqa: S310 (loopback)
    if cookie:
        request.add_header("Cookie", cookie)
    try:
        with opener.open(request, timeout=120) as response:
            return response.status, response.headers, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode("utf-8", "replace")


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    if not match:
        raise SystemExit("bench: no CSRF token on the page")
    return match.group(1)


def sign_in(base: str, email: str) -> str:
    """Sign in as a browser would; returns the Cookie header of the signed-in session."""
    status, headers, html = fetch(base, "/login")
    cookie = merge_cookies("", headers)
    data = {"csrf_token": csrf_token(html), "email": email, "password": BULK_PASSWORD}
    status, headers, _ = fetch(base, "/login", cookie, data)
    if status != 302:
        raise SystemExit(f"bench: signing in as {email} answered {status}")
    return merge_cookies(cookie, headers)


def wrk(url: str, clients: int, duration: int, args: list[str]) -> dict:
    command = [
        "wrk",
        "--threads",
        "1",
        "--connections",
        str(clients),
        "--duration",
        f"{duration}s",
        "--timeout",
        "60s",
        "--script",
        str(LUA),
        url,
        "--",
        *args,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next((x for x in output.splitlines() if x.startswith("WRK_JSON ")), None)
    if line is None:
        raise SystemExit(f"bench: wrk printed no summary:\n{output}")
    raw = json.loads(line.removeprefix("WRK_JSON "))
    seconds = raw["duration_us"] / 1e6
    errors = sum(raw["errors"].values())
    return {
        "clients": clients,
        "requests": raw["requests"],
        "rps": round(raw["requests"] / seconds, 1) if seconds else 0.0,
        "p50_ms": round(raw["p50_us"] / 1000, 1),
        "p95_ms": round(raw["p95_us"] / 1000, 1),
        "p99_ms": round(raw["p99_us"] / 1000, 1),
        "max_ms": round(raw["max_us"] / 1000, 1),
        "errors": errors,
        "error_kinds": {k: v for k, v in raw["errors"].items() if v},
    }


# The run ------------------------------------------------------------------------------------


def measure_baseline(args, env: dict, log: Path) -> dict[int, dict]:
    server = Server("bench.hello:app", env, args.workers, log)
    try:
        results = {}
        for clients in args.clients:
            wrk(server.base + "/", clients, args.warmup, [""])
            results[clients] = wrk(server.base + "/", clients, args.duration, [""])
        return results
    finally:
        server.stop()


def measure_engine(args, engine: Engine, run_dir: Path) -> dict:
    engine.prepare()
    engine.fresh_copy(run_dir)
    env = engine.env(run_dir)
    targets = discover(env)
    print(f"[{engine.name}] data: {targets.facts}")
    log = run_dir / f"gunicorn-{engine.name}.log"
    baseline = measure_baseline(args, env, log)
    server = Server("wsgi:app", env, args.workers, log)
    pages = {}
    rss_peak = 0.0
    try:
        sessions = {
            "anonymous": "",
            "consultant": sign_in(server.base, targets.consultant_email),
            "editor": sign_in(server.base, targets.editor_email),
        }
        for page in PAGES:
            if args.pages and page.key not in args.pages:
                continue
            url = server.base + targets.urls[page.key]
            cookie = sessions[page.who]
            wrk_args = [cookie]
            if page.method == "POST":
                status, headers, html = fetch(
                    server.base,
                    f"{targets.urls[page.key]}?language=en&start={targets.post_span[0]}"
                    f"&end={targets.post_span[1]}",
                    cookie,
                )
                if status != 200:
                    raise SystemExit(f"bench: the annotation form answered {status}")
                # The form's CSRF token lives in the session the form page sent back.
                cookie = merge_cookies(cookie, headers)
                form = {
                    "csrf_token": csrf_token(html),
                    "language": "en",
                    "kind": "comment",
                    "start": str(targets.post_span[0]),
                    "end": str(targets.post_span[1]),
                    "body": "A benchmark comment on this passage.",
                    "replacement": "",
                    "block_id": "",
                    "submission_key": "{key}",
                }
                body = urllib.parse.urlencode(form).replace("%7Bkey%7D", "{key}")
                wrk_args = [cookie, "POST", body]
            else:
                status, _, _ = fetch(server.base, targets.urls[page.key], cookie)
                if status != 200:
                    raise SystemExit(f"bench: {page.label} answered {status} before the run")
            runs = []
            for clients in args.clients:
                wrk(url, clients, args.warmup, wrk_args)
                result = wrk(url, clients, args.duration, wrk_args)
                result["percent_of_baseline"] = round(
                    100 * result["rps"] / baseline[clients]["rps"], 1
                )
                runs.append(result)
            rss = server.worker_rss_mb()
            rss_peak = max([rss_peak, *rss])
            pages[page.key] = {
                "label": page.label,
                "url": targets.urls[page.key],
                "as": page.who,
                "target_percent": TARGET_PERCENT[page.heavy],
                "runs": runs,
                "worker_rss_mb": [round(x, 1) for x in rss],
            }
            print_page(engine.name, page, pages[page.key])
        transfer = None
        if not args.no_transfer and (not args.pages or "review_1000" in args.pages):
            transfer = review_page_transfer(
                server.base, targets.urls["review_1000"], sessions["consultant"]
            )
    finally:
        server.stop()
        engine.drop_copy()
    return {
        "engine": engine.name,
        "data": targets.facts,
        "baseline": {str(k): v for k, v in baseline.items()},
        "pages": pages,
        "worker_rss_peak_mb": round(rss_peak, 1),
        "review_page_transfer": transfer,
    }


def review_page_transfer(base: str, path: str, cookie: str) -> dict | None:
    """What a browser downloads for the review page, compressed as sent, photos excluded."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("bench: Chromium not found; review-page transfer not measured")
        return None
    from playwright.sync_api import sync_playwright

    name, _, value = cookie.partition(";")[0].partition("=")
    resources = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium)
        context = browser.new_context()
        context.add_cookies([{"name": name, "value": value, "url": base}])
        page = context.new_page()
        responses = []
        page.on("response", lambda response: responses.append(response))
        page.goto(base + path, wait_until="networkidle")
        for response in responses:
            url = urllib.parse.urlsplit(response.url)
            if url.path.startswith("/items/"):
                continue  # photos are excluded by the issue
            sizes = response.request.sizes()
            resources.append(
                {
                    "path": url.path,
                    "type": response.request.resource_type,
                    "encoding": response.headers.get("content-encoding", ""),
                    "body_bytes": sizes["responseBodySize"],
                    "header_bytes": sizes["responseHeadersSize"],
                }
            )
        browser.close()
    total = sum(r["body_bytes"] + r["header_bytes"] for r in resources)
    by_type: dict[str, int] = {}
    for r in resources:
        by_type[r["type"]] = by_type.get(r["type"], 0) + r["body_bytes"] + r["header_bytes"]
    return {"total_bytes": total, "by_type": by_type, "resources": resources}


# Output -------------------------------------------------------------------------------------


def print_page(engine: str, page: Page, result: dict) -> None:
    for run in result["runs"]:
        flag = "" if run["percent_of_baseline"] >= result["target_percent"] else "  < target"
        errors = f"  errors {run['errors']} {run['error_kinds']}" if run["errors"] else ""
        print(
            f"  {engine:<10} {page.label:<34} c={run['clients']:<3} "
            f"{run['rps']:>8.1f} rps  p50 {run['p50_ms']:>7.1f}  p95 {run['p95_ms']:>7.1f}  "
            f"p99 {run['p99_ms']:>7.1f} ms  {run['percent_of_baseline']:>5.1f}% of baseline"
            f"{flag}{errors}",
            flush=True,
        )


def summary(result: dict, previous: dict | None) -> list[str]:
    lines = ["", "Summary (targets: issue 8 point 3)", ""]
    header = (
        f"{'engine':<10} {'page':<34} {'c':>3} {'rps':>8} {'p50':>7} {'p95':>7} {'p99':>7} "
        f"{'%base':>6} {'target':>6}"
    )
    if previous:
        header += f" {'prev rps':>9}"
    lines.append(header + "  (latencies in ms)")
    for engine in result["engines"]:
        for clients, base in engine["baseline"].items():
            lines.append(
                f"{engine['engine']:<10} {'baseline: Flask hello world':<34} {clients:>3} "
                f"{base['rps']:>8.1f} {base['p50_ms']:>7.1f} {base['p95_ms']:>7.1f} "
                f"{base['p99_ms']:>7.1f} {100.0:>6.1f}"
            )
        for key, page in engine["pages"].items():
            old_runs = {}
            if previous:
                for old in previous.get("engines", []):
                    if old["engine"] == engine["engine"] and key in old["pages"]:
                        old_runs = {r["clients"]: r for r in old["pages"][key]["runs"]}
            for run in page["runs"]:
                ok = "ok" if run["percent_of_baseline"] >= page["target_percent"] else "MISS"
                line = (
                    f"{engine['engine']:<10} {page['label']:<34} {run['clients']:>3} "
                    f"{run['rps']:>8.1f} {run['p50_ms']:>7.1f} {run['p95_ms']:>7.1f} "
                    f"{run['p99_ms']:>7.1f} {run['percent_of_baseline']:>6.1f} "
                    f"{page['target_percent']:>4.0f}% {ok}"
                )
                if run["clients"] == TAIL_AT_CLIENTS and run["p50_ms"]:
                    ratio = run["p99_ms"] / run["p50_ms"]
                    tail = "ok" if ratio <= TAIL_RATIO_TARGET else "MISS"
                    line += f"  p99/p50 {ratio:.1f} {tail}"
                if run["requests"] < 20:
                    line += f"  (only {run['requests']} requests finished in the run)"
                if run["errors"]:
                    line += f"  ERRORS {run['errors']}"
                if previous and run["clients"] in old_runs:
                    line += f"  (was {old_runs[run['clients']]['rps']:.1f})"
                lines.append(line)
        rss = engine["worker_rss_peak_mb"]
        lines.append(
            f"{engine['engine']:<10} worker memory peak {rss:.0f} MB resident "
            f"(target < {RSS_TARGET_MB:.0f} MB: {'ok' if rss < RSS_TARGET_MB else 'MISS'})"
        )
        transfer = engine.get("review_page_transfer")
        if transfer:
            parts = ", ".join(f"{k} {v / 1024:.1f} KiB" for k, v in transfer["by_type"].items())
            lines.append(
                f"{engine['engine']:<10} review page transfer, photos excluded: "
                f"{transfer['total_bytes'] / 1024:.1f} KiB as sent ({parts})"
            )
        lines.append("")
    return lines


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True
        )
        return out.stdout.strip()
    except OSError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10, help="seed-bulk scale (default 10)")
    parser.add_argument(
        "--engines", default="sqlite,postgresql", help="comma list: sqlite,postgresql"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "PORTAL_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
        help="a PostgreSQL server the benchmark may create databases on",
    )
    parser.add_argument("--clients", default="1,4,16", help="concurrency levels (default 1,4,16)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up before each")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--pages", default="", help="only these pages (comma list of keys)")
    parser.add_argument("--no-transfer", action="store_true", help="skip the browser transfer")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "bench" / ".data")
    parser.add_argument("--out", type=Path, default=None, help="JSON file to write")
    parser.add_argument("--compare", type=Path, default=None, help="an earlier JSON to compare")
    args = parser.parse_args(argv)
    args.clients = [int(x) for x in args.clients.split(",") if x.strip()]
    args.pages = [x.strip() for x in args.pages.split(",") if x.strip()]
    unknown = set(args.pages) - {p.key for p in PAGES}
    if unknown:
        parser.error(f"unknown page keys: {', '.join(sorted(unknown))}")
    if not shutil.which("wrk"):
        parser.error("wrk is not installed (bench/run installs it)")

    args.data_dir.mkdir(parents=True, exist_ok=True)
    run_dir = args.data_dir / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir()
    engines: list[Engine] = []
    for name in [x.strip() for x in args.engines.split(",") if x.strip()]:
        if name == "sqlite":
            engines.append(SQLiteEngine(args.data_dir, args.scale))
        elif name == "postgresql":
            engines.append(PostgresEngine(args.data_dir, args.scale, args.postgres_url))
        else:
            parser.error(f"unknown engine {name!r}")

    started = time.time()
    result = {
        "commit": git_commit(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "settings": {
            "scale": args.scale,
            "clients": args.clients,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "gunicorn": gunicorn_settings(args.workers),
        },
        "engines": [],
    }
    for engine in engines:
        result["engines"].append(measure_engine(args, engine, run_dir))
    result["seconds"] = round(time.time() - started)
    previous = json.loads(args.compare.read_text()) if args.compare else None
    print("\n".join(summary(result, previous)))
    out = args.out or ROOT / "bench" / "results" / f"load-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"Written to {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
