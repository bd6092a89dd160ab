"""Front-end weight (issue 8): each page loads only the CSS, JavaScript and fonts it uses, and
static files go out compressed, cacheable for a year under versioned URLs, with the security
headers."""

from __future__ import annotations

import gzip
import logging
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import brotli
import pytest
from sqlalchemy import select

import portal
from portal.assignments.models import Assignment, AssignmentState
from portal.cli import DEMO_PASSWORD
from portal.extensions import db
from portal.media.models import ItemKind, MediaItem
from portal.static_files import ONE_YEAR, StaticFolder, file_version
from tests.test_security import assert_security_headers

STATIC = Path(portal.__file__).parent / "static"
TEMPLATES = Path(portal.__file__).parent / "templates"
VENDOR = STATIC / "vendor/uswds"
BROWSER_ENCODINGS = "gzip, deflate, br, zstd"  # what Chromium sends

# On every page: the quick exit (safety) and the header's mobile menu.
EVERY_PAGE = {"js/quick-exit.js", "vendor/uswds/js/uswds-navigation.min.js"}
# The other scripts, each with the markup it works on: a page with that markup loads it.
HOOKS = {
    "js/confirm.js": r"\bdata-confirm\b",
    "js/file-limit.js": r"\bdata-max-bytes\b",
    "js/upload-progress.js": r"\bdata-upload-progress\b",
    "js/reveal.js": r"\bdata-sensitive\b",
    "js/photo-regions.js": r"\bdata-region-editor\b",
    "js/review.js": r"\bdata-annotate-url\b",
}


class PageAssets(HTMLParser):
    """The static files a page asks for: stylesheets, scripts and images."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.stylesheets: list[str] = []
        self.scripts: list[str] = []
        self.images: list[str] = []
        self.inline_scripts = 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link" and attrs.get("rel") == "stylesheet":
            self.stylesheets.append(attrs["href"])
        elif tag == "script":
            if "src" in attrs:
                self.scripts.append(attrs["src"])
            else:
                self.inline_scripts += 1
        elif tag == "img" and (attrs.get("src") or "").startswith("/static/"):
            self.images.append(attrs["src"])

    @property
    def script_files(self) -> set[str]:
        return {static_name(url) for url in self.scripts}


def static_name(url: str) -> str:
    path = urlsplit(url).path
    assert path.startswith("/static/"), url
    return path.removeprefix("/static/")


def css_urls(css: str, css_url: str) -> list[str]:
    """The url() targets of a stylesheet, as absolute paths with their query."""
    targets = re.findall(r"url\(\s*[\"']?([^)\"']+)[\"']?\s*\)", css)
    return [urljoin(css_url, t) for t in targets if not t.startswith(("data:", "#"))]


def decoded(response) -> bytes:
    body = response.get_data()
    encoding = response.headers.get("Content-Encoding")
    if encoding == "br":
        return brotli.decompress(body)
    if encoding == "gzip":
        return gzip.decompress(body)
    assert encoding is None, encoding
    return body


def assert_cached_for_a_year(response) -> None:
    cache = response.cache_control
    assert cache.public and cache.immutable and cache.max_age == ONE_YEAR, response.headers


# Pages of the demo data -------------------------------------------------------------------------


@pytest.fixture
def demo(app, runner):
    """The demo data (`flask seed-demo`) and the pages each role sees, as (account, path)."""
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        reviewing = db.session.scalar(
            select(Assignment).where(Assignment.state == AssignmentState.IN_REVIEW)
        )
        consultant = reviewing.consultant.email
        section = reviewing.section_id
        photo = db.session.scalar(
            select(MediaItem.id).where(
                MediaItem.section_id == section, MediaItem.kind == ItemKind.PHOTO
            )
        )
        report = reviewing.section.report_id
    editor, admin = "editor@example.org", "admin@example.org"
    return {
        "sign-in": (None, "/login"),
        "consultant dashboard": (consultant, "/"),
        "review page": (consultant, f"/sections/{section}/read?lang=both&continue=1"),
        "assignment": (consultant, f"/assignments/{reviewing.id}"),
        "photo review": (consultant, f"/items/{photo}/review"),
        "time records": (consultant, "/time"),
        "report": (editor, f"/reports/{report}"),
        "section": (editor, f"/sections/{section}"),
        "publish": (editor, f"/sections/{section}/publish"),
        "new photo": (editor, f"/sections/{section}/photos/new"),
        "photo": (editor, f"/items/{photo}"),
        "accounts": (admin, "/admin/accounts"),
        "checklists": (admin, "/admin/checklists"),
    }


def visit(app, pages):
    """Each page's HTML, fetched by a browser of the right account; yields (name, client, page)."""
    clients = {}
    for name, (account, path) in pages.items():
        if account not in clients:
            clients[account] = app.test_client()
            if account:
                response = clients[account].post_form(
                    "/login", {"email": account, "password": DEMO_PASSWORD}
                )
                assert response.status_code == 302, response.get_data(as_text=True)[:300]
        client = clients[account]
        response = client.get(path, headers={"Accept-Encoding": BROWSER_ENCODINGS})
        assert response.status_code == 200, (name, path, response.status_code)
        yield name, client, response


def test_every_file_a_page_uses_is_served_compressed_cacheable_and_with_the_headers(app, demo):
    checked: dict[str, str] = {}
    for name, client, page in visit(app, demo):
        # Pages themselves are never compressed: they carry CSRF tokens and echo input (BREACH).
        assert "Content-Encoding" not in page.headers, name
        html = page.get_data(as_text=True)
        assets = PageAssets(html)
        assert assets.inline_scripts == 0, name
        assert [static_name(u) for u in assets.stylesheets] == [
            "vendor/uswds/css/uswds.min.css",
            "css/portal.css",
        ], name
        urls = assets.stylesheets + assets.scripts + assets.images
        while urls:
            url = urls.pop()
            if url in checked:
                continue
            filename = static_name(url)
            file = STATIC / filename
            assert file.is_file(), f"{name}: {url} names no file"
            assert parse_qs(urlsplit(url).query).get("v") == [file_version(file)], url
            with client.get(url, headers={"Accept-Encoding": BROWSER_ENCODINGS}) as response:
                assert response.status_code == 200, url
                assert decoded(response) == file.read_bytes(), url
                assert_cached_for_a_year(response)
                assert_security_headers(response, static=True)
                # The same for everyone: no session cookie, nothing that varies by cookie.
                assert "Set-Cookie" not in response.headers, url
                assert "cookie" not in response.headers.get("Vary", "").lower(), url
                if file.suffix in {".css", ".js", ".svg"}:
                    assert "accept-encoding" in response.headers["Vary"].lower(), url
                if file.suffix in {".css", ".js"}:
                    assert response.headers["Content-Encoding"] == "br", url
                    assert int(response.headers["Content-Length"]) < file.stat().st_size
                if file.suffix == ".css":
                    urls.extend(css_urls(file.read_text(encoding="utf-8"), url))
                checked[url] = response.headers.get("Content-Encoding", "")
    fonts = {static_name(url) for url in checked if url.split("?")[0].endswith(".woff2")}
    assert fonts == {str(f.relative_to(STATIC)) for f in VENDOR.rglob("*.woff2")}


def test_each_page_loads_only_the_scripts_it_uses(app, demo):
    scripts = {}
    for name, _client, page in visit(app, demo):
        html = page.get_data(as_text=True)
        scripts[name] = PageAssets(html).script_files
        assert scripts[name] >= EVERY_PAGE, name
        for script, hook in HOOKS.items():
            if re.search(hook, html):
                assert script in scripts[name], f"{name} uses {script} but does not load it"
    assert scripts["sign-in"] == EVERY_PAGE
    assert scripts["consultant dashboard"] == EVERY_PAGE
    assert scripts["review page"] == EVERY_PAGE | {"js/review.js"}
    assert "js/confirm.js" in scripts["report"]
    assert scripts["publish"] == EVERY_PAGE | {"js/file-limit.js"}
    assert scripts["new photo"] == EVERY_PAGE | {"js/file-limit.js", "js/upload-progress.js"}
    assert {"js/reveal.js", "js/photo-regions.js"} <= scripts["photo"]
    assert not any("uswds.min.js" in s or "uswds-init" in s for s in set().union(*scripts.values()))


def test_templates_load_a_script_exactly_where_its_markup_is():
    """The other direction: no template loads a script for markup it does not have."""
    for template in sorted(TEMPLATES.rglob("*.html")):
        source = re.sub(r"\{#.*?#\}", "", template.read_text(encoding="utf-8"), flags=re.S)
        for script, hook in HOOKS.items():
            loads = f"filename='{script}'" in source
            assert loads == bool(re.search(hook, source)), f"{template.name}: {script}"


# The vendored USWDS subset ----------------------------------------------------------------------


def test_the_stylesheet_declares_only_vendored_fonts_and_every_vendored_file_is_used():
    css = (VENDOR / "css/uswds.min.css").read_text(encoding="utf-8")
    referenced = {}
    for target in re.findall(r"url\(\s*[\"']?([^)\"']+)[\"']?\s*\)", css):
        path, _sep, query = target.partition("?")
        file = (VENDOR / "css" / path).resolve()
        assert file.is_file(), f"url({target}) names no vendored file"
        assert parse_qs(query).get("v") == [file_version(file)], f"url({target}): stale ?v="
        referenced[file] = target
    faces = re.findall(r"@font-face\{([^}]*)\}", css)
    declared = {
        (VENDOR / "css" / m.split("?")[0]).resolve()
        for face in faces
        for m in re.findall(r"url\(([^)]+)\)", face)
    }
    vendored_fonts = {f.resolve() for f in VENDOR.rglob("*") if f.suffix in {".woff2", ".woff"}}
    assert declared == vendored_fonts
    assert len(faces) == len(vendored_fonts)  # one @font-face per file, none without a file
    # Light (300) is never shown, so neither declared nor vendored.
    assert not re.search(r"font-weight:300", " ".join(faces))

    templates = "\n".join(t.read_text(encoding="utf-8") for t in TEMPLATES.rglob("*.html"))
    for file in sorted(VENDOR.rglob("*")):
        if file.suffix in {".br", ".gz"} or not file.is_file() or file.suffix == ".md":
            continue
        name = str(file.relative_to(STATIC))
        if file.parent.name in {"css", "js"}:
            assert f"filename='{name}'" in templates, f"{name} is vendored but never loaded"
        else:
            assert file.resolve() in referenced or f"filename='{name}'" in templates, (
                f"{name} is vendored but used neither by the stylesheet nor by a template"
            )


# Serving ----------------------------------------------------------------------------------------


def test_a_url_without_the_current_version_is_revalidated_not_kept(client):
    for url in ("/static/css/portal.css", "/static/css/portal.css?v=000000000000"):
        with client.get(url, headers={"Accept-Encoding": BROWSER_ENCODINGS}) as response:
            assert response.status_code == 200
            assert response.cache_control.no_cache and not response.cache_control.immutable
            etag = response.headers["ETag"]
        with client.get(
            url, headers={"Accept-Encoding": BROWSER_ENCODINGS, "If-None-Match": etag}
        ) as again:
            assert again.status_code == 304
            assert "accept-encoding" in again.headers["Vary"].lower()
            assert_security_headers(again, static=True)


def test_the_encoding_follows_what_the_browser_accepts(client):
    url = "/static/js/review.js"
    original = (STATIC / "js/review.js").read_bytes()
    etags = set()
    for accepted, expected in (
        ("br;q=1.0, gzip;q=0.8", "br"),
        ("gzip", "gzip"),
        ("", None),
        ("br;q=0, gzip", "gzip"),
        ("*", "br"),
    ):
        with client.get(url, headers={"Accept-Encoding": accepted}) as response:
            assert response.headers.get("Content-Encoding") == expected, accepted
            assert decoded(response) == original
            assert response.headers["Vary"] == "Accept-Encoding"
            assert response.mimetype in {"text/javascript", "application/javascript"}
            etags.add(response.headers["ETag"])
    assert len(etags) == 3  # one per encoding, so a cache never mixes them up


def test_pages_are_never_compressed(client, auth, consultant):
    auth.login_as(consultant)
    for path in ("/login", "/", "/account", "/no-such-page"):
        response = client.get(path, headers={"Accept-Encoding": BROWSER_ENCODINGS})
        assert response.mimetype == "text/html"
        assert "Content-Encoding" not in response.headers, path


def test_static_errors_keep_the_headers(client):
    cases = {
        "/static/css/no-such.css": 404,
        "/static/css/portal.css.br": 404,  # the compressed copies are not files of their own
        "/static/../portal/__init__.py": 404,
    }
    for url, status in cases.items():
        response = client.get(url)
        assert response.status_code == status, url
        assert_security_headers(response, static=True)
    response = client.post("/static/css/portal.css")
    assert response.status_code == 405
    assert_security_headers(response, static=True)


# The compressed copies --------------------------------------------------------------------------


def test_compressed_copies_are_written_again_when_the_file_changes(tmp_path):
    folder = StaticFolder(tmp_path, logging.getLogger("test"))
    style = tmp_path / "site.css"
    style.write_text("body { color: #1b1b1b; }\n" * 40)
    (tmp_path / "photo.woff2").write_bytes(b"\x00" * 100)
    folder.compress_all()
    copies = folder.compressed_copies(style)
    assert brotli.decompress(copies["br"].read_bytes()) == style.read_bytes()
    assert gzip.decompress(copies["gzip"].read_bytes()) == style.read_bytes()
    assert not list(tmp_path.glob("photo.woff2.*"))  # already compressed formats are left alone
    version = folder.version("site.css")

    style.write_text("main { margin: 0; }\n" * 40)
    copies = folder.compressed_copies(style)
    assert brotli.decompress(copies["br"].read_bytes()) == style.read_bytes()
    assert gzip.decompress(copies["gzip"].read_bytes()) == style.read_bytes()
    assert folder.version("site.css") == file_version(style) != version
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


def test_a_frozen_folder_links_to_the_version_first_seen(tmp_path):
    """Production freezes the versions pages link to (files change only with a release)."""
    style = tmp_path / "site.css"
    style.write_text("body { color: #1b1b1b; }\n")
    watching, frozen = (
        StaticFolder(tmp_path, logging.getLogger("test")),
        StaticFolder(tmp_path, logging.getLogger("test")),
    )
    frozen.frozen = True
    first = file_version(style)
    assert watching.url_version("site.css") == frozen.url_version("site.css") == first
    assert frozen.url_version("missing.css") is None
    style.write_text("main { margin: 0; }\n")
    assert watching.url_version("site.css") == file_version(style) != first
    assert frozen.url_version("site.css") == first
    (tmp_path / "missing.css").write_text("a {}\n")
    assert frozen.url_version("missing.css") is None


def test_the_released_portal_freezes_its_static_versions_and_development_does_not(
    app, database_url, tmp_path
):
    from portal import create_app
    from tests.conftest import base_test_config

    assert app.extensions["portal_static_folder"].frozen is False  # testing: files may change
    production = create_app(
        {**base_test_config(database_url, tmp_path), "PORTAL_ENV": "production", "TESTING": False}
    )
    try:
        assert production.extensions["portal_static_folder"].frozen is True
    finally:
        with production.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_read_only_folder_serves_uncompressed_and_says_so_once(tmp_path, monkeypatch, caplog):
    folder = StaticFolder(tmp_path, logging.getLogger("test"))
    for name in ("a.css", "b.js"):
        (tmp_path / name).write_text("x" * 2000)

    def refuse(*args):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(StaticFolder, "_write", staticmethod(refuse))
    with caplog.at_level(logging.WARNING):
        folder.compress_all()
        assert folder.compressed_copies(tmp_path / "b.js") == {}
    assert [r.getMessage() for r in caplog.records] == [
        "Static files are sent uncompressed: read-only file system"
    ]
