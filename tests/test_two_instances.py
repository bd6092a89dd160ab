"""Two gunicorn instances, one PostgreSQL, one Redis, one shared upload folder.

The deployment is described in deploy/two-instances.md.

The portal is started twice, as deployed (`PORTAL_ENV=production`, gunicorn), with the same
environment, each on its own loopback port. The test plays the reverse proxy: every request says
`Host: portal.example.org`, `X-Forwarded-Proto: https` and `X-Forwarded-For`, and a person's cookies
are kept by hand (they are `Secure`, so a stdlib cookie jar would not send them over plain http)
and sent to whichever instance the request goes to, as a proxy without sticky sessions would.

It proves, each property by going through one instance and checking on the other:

1. a person signed in through A continues on B (sessions are signed with the shared SECRET_KEY and
   their account is read from the shared database);
2. signing out on B ends the session on A too: the very cookie A accepted a moment before is then
   sent to the sign-in page (the session generation is kept in the database, not in the process);
3. failed sign-ins count across both: five failures alternately on A and B, the sixth is refused
   with 429 on either, and the counters are in Redis (not in each process's memory);
4. a photo uploaded through A is served by B, byte for byte, to the editor and to the consultant
   the section is offered to (the files are in the shared PORTAL_UPLOAD_DIR).

Skipped, with the reason, unless PORTAL_TEST_DATABASE_URL names PostgreSQL and Redis answers at
127.0.0.1:6379. Redis database 15 is used and flushed (that one only) before and after. The test
makes a PostgreSQL database of its own and drops it at the end; both servers (and their workers)
are always stopped.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import PASSWORD, PG_URL_ENV, PROJECT_ROOT, _migrate, base_test_config

REDIS_HOST, REDIS_PORT, REDIS_DB = "127.0.0.1", 6379, 15
SECRET_KEY = "two-instances-shared-secret-" + "s" * 40
PUBLIC_HOST = "portal.example.org"
STARTUP_SECONDS = 30

EDITOR = SimpleNamespace(email="editor@example.org", name="Camille Two-Instances")
CONSULTANT = SimpleNamespace(email="consultant@example.org", name="Amara Two-Instances")
THROTTLED = SimpleNamespace(email="throttled@example.org", name="Throttled")

# The photo form's text fields (as in tests/media/conftest.py).
PHOTO_FIELDS = {
    "caption_en": "Members of a survivor-led cooperative at their weekly meeting.",
    "caption_fr": "Membres d'une coopérative dirigée par des personnes survivantes.",
    "alt_en": "Five people around a table covered in papers, seen from behind.",
    "alt_fr": "Cinq personnes autour d'une table couverte de papiers, vues de dos.",
    "credit": "Photo: Survivor Arts Collective",
    "provenance": "Commissioned for the 2027 report; used with the participants' agreement.",
}


# Preconditions -------------------------------------------------------------------------------


def _postgres_base_or_skip() -> str:
    base = os.environ.get(PG_URL_ENV, "")
    if not base or make_url(base).get_backend_name() != "postgresql":
        pytest.skip(
            f"Two-instance test skipped: set {PG_URL_ENV} to a postgresql+psycopg:// URL "
            "(two servers cannot share a SQLite file as deployed)"
        )
    return base


def _redis_or_skip():
    try:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry
    except ImportError:
        pytest.skip("Two-instance test skipped: the `redis` package is not installed")
    client = redis.Redis(
        host=REDIS_HOST,
        port=REDIS_PORT,
        db=REDIS_DB,
        socket_connect_timeout=0.5,
        socket_timeout=2,
        retry=Retry(NoBackoff(), 0),  # answer at once when Redis is down, not after retries
    )
    try:
        client.ping()
    except redis.RedisError as error:
        client.close()
        pytest.skip(
            f"Two-instance test skipped: Redis does not answer at {REDIS_HOST}:{REDIS_PORT} "
            f"({type(error).__name__})"
        )
    return client


def _gunicorn_or_skip() -> str:
    candidate = Path(sys.executable).with_name("gunicorn")
    found = str(candidate) if candidate.is_file() else shutil.which("gunicorn")
    if not found:
        pytest.skip(
            "Two-instance test skipped: gunicorn is not installed (pip install -e '.[production]')"
        )
    return found


# The servers ---------------------------------------------------------------------------------


@dataclass
class Instance:
    name: str
    process: subprocess.Popen
    log: Path
    port: int = 0

    def log_tail(self, lines: int = 40) -> str:
        try:
            content = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(content.splitlines()[-lines:])


def _server_environment(database_url: str, upload_dir: Path, mail_dir: Path) -> dict[str, str]:
    """What both instances share; nothing of the caller's portal settings leaks in."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PORTAL_", "FLASK_")) and key not in {"SECRET_KEY", "DATABASE_URL"}
    }
    env.update(
        PORTAL_ENV="production",
        SECRET_KEY=SECRET_KEY,
        DATABASE_URL=database_url,
        PORTAL_RATELIMIT_STORAGE_URL=f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}",
        PORTAL_UPLOAD_DIR=str(upload_dir),
        PORTAL_BASE_URL=f"https://{PUBLIC_HOST}",
        # No second factor here: production would otherwise require it of editors.
        PORTAL_SECOND_FACTOR_ROLES="",
        PORTAL_MAIL_FOLDER=str(mail_dir),
        PYTHONUNBUFFERED="1",
    )
    return env


def _start(gunicorn: str, name: str, env: dict[str, str], log: Path) -> Instance:
    # Port 0: the kernel picks a free port when gunicorn binds, and gunicorn logs which (no race
    # between choosing a port here and gunicorn binding it).
    with log.open("wb") as handle:
        process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [
                gunicorn,
                "--workers=1",
                "--threads=2",
                "--bind=127.0.0.1:0",
                "--graceful-timeout=5",
                "--timeout=60",
                "wsgi:app",
            ],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the master and its worker
        )
    return Instance(name=name, process=process, log=log)


def _wait_until_listening(instance: Instance, deadline: float) -> None:
    pattern = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")
    while time.monotonic() < deadline:
        found = pattern.search(instance.log.read_text(encoding="utf-8", errors="replace"))
        if found:
            instance.port = int(found.group(1))
            return
        if instance.process.poll() is not None:
            pytest.fail(f"gunicorn {instance.name} exited:\n{instance.log_tail()}")
        time.sleep(0.05)
    pytest.fail(f"gunicorn {instance.name} did not start:\n{instance.log_tail()}")


def _wait_until_healthy(instance: Instance, deadline: float) -> None:
    last = "no answer"
    while time.monotonic() < deadline:
        if instance.process.poll() is not None:
            pytest.fail(f"gunicorn {instance.name} exited:\n{instance.log_tail()}")
        try:
            reply = Browser("192.0.2.1").get(instance, "/healthz")
        except OSError as error:
            last = repr(error)
        else:
            if reply.status == 200 and b'"ok"' in reply.body:
                return
            last = f"{reply.status} {reply.body[:200]!r}"
        time.sleep(0.1)
    pytest.fail(
        f"gunicorn {instance.name} never answered /healthz ({last}):\n{instance.log_tail()}"
    )


def _stop(instance: Instance) -> None:
    """Stop the master and its worker (the process group started for it), whatever happens."""
    process = instance.process
    group = process.pid  # start_new_session: the group id is the master's pid
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(group, signal.SIGKILL)
            process.wait(timeout=10)
    # A worker that outlived its master would still be in the group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)


# A browser behind the proxy ------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def location_path(self) -> str:
        return urlsplit(self.headers.get("Location", "")).path


@dataclass
class Browser:
    """One person's browser as the instances see it through the proxy: HTTPS, one address.

    Cookies are kept by name and sent to whichever instance a request goes to.
    """

    address: str
    cookies: dict[str, str] = field(default_factory=dict)

    def request(
        self,
        instance: Instance,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        cookies: dict[str, str] | None = None,
    ) -> Reply:
        sent_cookies = self.cookies if cookies is None else cookies
        all_headers = {
            "Host": PUBLIC_HOST,
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": self.address,
            "User-Agent": "two-instances-test",
            "Accept-Language": "en",
            # Flask-WTF checks the Referer of HTTPS form posts (same origin).
            "Referer": f"https://{PUBLIC_HOST}{path}",
        }
        if sent_cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in sent_cookies.items())
        all_headers.update(headers or {})
        connection = http.client.HTTPConnection("127.0.0.1", instance.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            reply = Reply(response.status, response.headers, response.read())
        finally:
            connection.close()
        if cookies is None:
            self._keep_cookies(reply)
        return reply

    def _keep_cookies(self, reply: Reply) -> None:
        for header in reply.headers.get_all("Set-Cookie") or []:
            pair, *attributes = (part.strip() for part in header.split(";"))
            name, _sep, value = pair.partition("=")
            flags = {a.split("=", 1)[0].lower(): a.partition("=")[2] for a in attributes}
            assert "secure" in flags, f"production cookies are Secure: {header}"
            if not value or flags.get("max-age") == "0":
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value

    def get(self, instance: Instance, path: str, **kwargs) -> Reply:
        return self.request(instance, "GET", path, **kwargs)

    def post_form(self, instance: Instance, path: str, data: dict[str, str]) -> Reply:
        body = urlencode(data).encode()
        return self.request(
            instance,
            "POST",
            path,
            body=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    def post_multipart(
        self,
        instance: Instance,
        path: str,
        fields: dict[str, str],
        files: dict[str, tuple[str, str, bytes]],
    ) -> Reply:
        boundary = uuid.uuid4().hex
        body = io.BytesIO()
        for name, value in fields.items():
            body.write(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            )
            body.write(value.encode("utf-8") + b"\r\n")
        for name, (filename, content_type, data) in files.items():
            body.write(
                f"--{boundary}\r\n"
                f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: {content_type}\r\n\r\n".encode()
            )
            body.write(data + b"\r\n")
        body.write(f"--{boundary}--\r\n".encode())
        return self.request(
            instance,
            "POST",
            path,
            body=body.getvalue(),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )

    def csrf_token(self, instance: Instance, path: str) -> str:
        reply = self.get(instance, path)
        assert reply.status == 200, (path, reply.status)
        found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', reply.text)
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def sign_in(self, instance: Instance, email: str, password: str = PASSWORD) -> Reply:
        token = self.csrf_token(instance, "/login")
        return self.post_form(
            instance, "/login", {"csrf_token": token, "email": email, "password": password}
        )


def _signed_in(instance: Instance, person: SimpleNamespace, address: str) -> Browser:
    browser = Browser(address)
    reply = browser.sign_in(instance, person.email)
    assert reply.status == 302, (reply.status, reply.text[:500])
    assert reply.location_path == "/", reply.headers.get("Location")
    return browser


# The deployment ------------------------------------------------------------------------------


def _seed(database_url: str, tmp: Path) -> SimpleNamespace:
    """The people, and a section offered to and accepted by the consultant."""
    from portal import create_app
    from portal.accounts import services as accounts
    from portal.accounts.models import Role
    from portal.assignments import services as assignments
    from portal.extensions import db
    from portal.models import utcnow
    from portal.reports import services as reports

    app = create_app(base_test_config(database_url, tmp))
    try:
        with app.test_request_context():
            editor = accounts.create_user(
                email=EDITOR.email, display_name=EDITOR.name, role=Role.EDITOR, password=PASSWORD
            )
            consultant = accounts.create_user(
                email=CONSULTANT.email,
                display_name=CONSULTANT.name,
                role=Role.CONSULTANT,
                password=PASSWORD,
            )
            accounts.create_user(
                email=THROTTLED.email,
                display_name=THROTTLED.name,
                role=Role.CONSULTANT,
                password=PASSWORD,
            )
            report = reports.create_report(editor, title_en="2027 Report", year=2027)
            section = reports.create_section(editor, report, title_en="Introduction")
            reports.publish_version(
                editor,
                section,
                body_en="Survivors lead this work.",
                body_fr=None,
                change_summary=None,
                based_on=0,
            )
            offer = assignments.assign_section(
                editor, section, consultant, due_on=utcnow().date() + timedelta(days=10)
            )
            assignments.accept(consultant, offer)
            db.session.commit()
            return SimpleNamespace(section_id=section.id)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory) -> Iterator[SimpleNamespace]:
    base = _postgres_base_or_skip()
    gunicorn = _gunicorn_or_skip()
    redis_client = _redis_or_skip()  # last: the only check that opens something to close
    tmp = tmp_path_factory.mktemp("two-instances")
    name = f"portal_two_{uuid.uuid4().hex[:10]}"
    admin_engine = create_engine(base, isolation_level="AUTOCOMMIT")
    instances: list[Instance] = []
    try:
        redis_client.flushdb()
        with admin_engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(base).set(database=name).render_as_string(hide_password=False)
        _migrate(url, tmp / "migrate")
        seeded = _seed(url, tmp / "seed")

        shared_uploads = tmp / "shared-uploads"  # stands for the NFS mount / shared volume
        env = _server_environment(url, shared_uploads, tmp / "mail")
        for label in ("A", "B"):
            instances.append(_start(gunicorn, label, env, tmp / f"gunicorn-{label}.log"))
        deadline = time.monotonic() + STARTUP_SECONDS
        for instance in instances:
            _wait_until_listening(instance, deadline)
        for instance in instances:
            _wait_until_healthy(instance, deadline)
        a, b = instances
        assert a.port != b.port
        yield SimpleNamespace(
            a=a, b=b, redis=redis_client, uploads=shared_uploads, section_id=seeded.section_id
        )
        for instance in instances:
            assert instance.process.poll() is None, f"{instance.name} died:\n{instance.log_tail()}"
    finally:
        for instance in instances:
            _stop(instance)
        try:
            redis_client.flushdb()
        finally:
            redis_client.close()
        with admin_engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin_engine.dispose()


# The checks ----------------------------------------------------------------------------------


def test_signed_in_on_one_instance_continues_on_the_other(deployment):
    a, b = deployment.a, deployment.b
    browser = _signed_in(a, CONSULTANT, "198.51.100.10")

    on_b = browser.get(b, "/account")
    assert on_b.status == 200, (on_b.status, on_b.headers.get("Location"))
    assert CONSULTANT.name in on_b.text
    # And back: both instances keep accepting the session they pass along.
    on_a = browser.get(a, "/account")
    assert on_a.status == 200, (on_a.status, on_a.headers.get("Location"))
    assert CONSULTANT.name in on_a.text


def test_signing_out_on_one_instance_ends_the_session_on_both(deployment):
    a, b = deployment.a, deployment.b
    browser = _signed_in(a, CONSULTANT, "198.51.100.11")
    assert browser.get(a, "/account").status == 200
    copied = dict(browser.cookies)  # a cookie A has just accepted (as a thief would copy it)
    token = browser.csrf_token(b, "/account")

    signed_out = browser.post_form(b, "/logout", {"csrf_token": token})
    assert signed_out.status == 302, (signed_out.status, signed_out.text[:500])
    assert signed_out.location_path == "/login"

    replayed = browser.get(a, "/account", cookies=copied)
    assert replayed.status == 302, (replayed.status, replayed.text[:300])
    assert replayed.location_path == "/login"
    # The copied cookie still works nowhere: not on B either, and not as a fresh sign-in page.
    assert browser.get(b, "/account", cookies=copied).location_path == "/login"
    assert browser.get(a, "/account").location_path == "/login"


def test_sign_in_throttling_counts_across_both_instances(deployment):
    a, b = deployment.a, deployment.b
    browser = Browser("203.0.113.20")
    token = browser.csrf_token(a, "/login")
    wrong = {"csrf_token": token, "email": THROTTLED.email, "password": "not the password at all"}

    # Five failures, alternately on A and B, each from another address: only the per-account
    # count, shared by both instances, can refuse the sixth.
    for attempt, instance in enumerate([a, b, a, b, a], start=1):
        browser.address = f"203.0.113.{20 + attempt}"
        reply = browser.post_form(instance, "/login", wrong)
        assert reply.status == 400, (attempt, instance.name, reply.status)
        assert "do not match an active account" in reply.text

    for instance in (b, a):  # the sixth attempt is refused on either instance
        browser.address = f"203.0.113.{40 + ord(instance.name)}"
        refused = browser.post_form(instance, "/login", wrong)
        assert refused.status == 429, (instance.name, refused.status)
    # Even the right password waits until the lockout ends by itself.
    right = wrong | {"password": PASSWORD}
    assert browser.post_form(b, "/login", right).status == 429

    # The counts live in Redis (database 15), not in either process.
    keys = [key.decode() for key in deployment.redis.scan_iter(count=1000)]
    assert any(THROTTLED.email in key for key in keys), keys


def test_photo_uploaded_through_one_instance_is_served_by_the_other(deployment):
    from PIL import Image

    a, b = deployment.a, deployment.b
    section_id = deployment.section_id
    editor = _signed_in(a, EDITOR, "198.51.100.30")

    picture = io.BytesIO()
    Image.new("RGB", (320, 240), (180, 120, 60)).save(picture, "JPEG")
    token = editor.csrf_token(a, f"/sections/{section_id}/photos/new")
    uploaded = editor.post_multipart(
        a,
        f"/sections/{section_id}/photos/new",
        PHOTO_FIELDS | {"csrf_token": token},
        {"image": ("cooperative.jpg", "image/jpeg", picture.getvalue())},
    )
    assert uploaded.status == 302, (uploaded.status, uploaded.text[:800])
    found = re.fullmatch(r"/items/(\d+)", uploaded.location_path)
    assert found, uploaded.headers.get("Location")
    thumb = f"/items/{found.group(1)}/versions/1/thumb"

    from_a = editor.get(a, thumb)
    assert from_a.status == 200, from_a.status
    assert from_a.headers.get("Content-Type") == "image/webp"
    assert from_a.body.startswith(b"RIFF") and from_a.body[8:12] == b"WEBP"
    from_b = editor.get(b, thumb)
    assert from_b.status == 200, (from_b.status, b.log_tail())
    assert from_b.headers.get("Content-Type") == "image/webp"
    assert from_b.body == from_a.body
    # The file A wrote is in the shared folder, which is where B read it from.
    stored = sorted(p.name for p in (deployment.uploads / "photos").iterdir())
    assert len(stored) == 3 and sum(n.endswith(".thumb.webp") for n in stored) == 1, stored

    # The consultant the section is offered to, signed in on B, sees it there too.
    consultant = _signed_in(b, CONSULTANT, "198.51.100.31")
    seen = consultant.get(b, thumb)
    assert seen.status == 200, seen.status
    assert seen.body == from_a.body
