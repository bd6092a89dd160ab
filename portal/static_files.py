"""Static files: versioned URLs, a year of caching, and pre-compressed copies.

`url_for("static", filename=...)` adds `?v=` and the first 12 hex digits of the file's SHA-256. A
request that carries the file's current version may be kept by browsers and proxies for a year
(`immutable`): a changed file gets a new URL. Any other request is revalidated (`no-cache`).

CSS, JavaScript and SVG files get Brotli (`.br`) and gzip (`.gz`) copies beside them, written when
the app starts and again whenever the file changes; the static view sends the smallest one the
browser accepts. Only static files are compressed, never pages: pages carry CSRF tokens and echo
what people typed, so their compressed size could leak those secrets (BREACH).
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import mimetypes
import os
import stat
import tempfile
from pathlib import Path

import brotli
from flask import Flask, Response, current_app, request, send_file
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import NotFound
from werkzeug.security import safe_join

# assets/uswds/build.js puts the same ?v= on the url()s of the vendored USWDS stylesheet.
VERSION_LENGTH = 12
ONE_YEAR = 365 * 24 * 60 * 60
COMPRESSIBLE = frozenset({".css", ".js", ".svg"})
ENCODINGS = {"br": ".br", "gzip": ".gz"}


def file_version(path: Path) -> str:
    """The version a URL of this file carries: the start of its SHA-256."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:VERSION_LENGTH]


def compress(data: bytes, encoding: str) -> bytes:
    """The smallest encoding of `data` the format offers; fixed output for fixed input."""
    if encoding == "br":
        return brotli.compress(data, quality=11)
    return gzip.compress(data, compresslevel=9, mtime=0)


class StaticFolder:
    """The static folder: its files' versions and their compressed copies, kept in step."""

    def __init__(self, root: Path, logger: logging.Logger) -> None:
        self.root = root
        self.logger = logger
        self.writable = True
        self._versions: dict[str, tuple[int, int, str]] = {}
        self.frozen = False
        self._frozen: dict[str, str | None] = {}

    def path(self, filename: str) -> Path | None:
        """The file a static URL names, or None (outside the folder, missing, or a copy)."""
        joined = safe_join(str(self.root), filename)
        if joined is None or not os.path.isfile(joined):
            return None
        path = Path(joined)
        if path.suffix in {".br", ".gz"} and path.with_suffix("").is_file():
            return None
        return path

    def version(self, filename: str) -> str | None:
        """The file's current version, hashed again only when the file changed."""
        path = self.path(filename)
        if path is None:
            return None
        info = path.stat()
        known = self._versions.get(filename)
        if known and known[:2] == (info.st_mtime_ns, info.st_size):
            return known[2]
        version = file_version(path)
        self._versions[filename] = (info.st_mtime_ns, info.st_size, version)
        return version

    def url_version(self, filename: str) -> str | None:
        """The version a page links to: `version`, or, once `frozen`, the version first seen.

        In production the files change only with a new release, which restarts the workers;
        freezing saves a `stat` per static URL on every page.
        """
        if not self.frozen:
            return self.version(filename)
        try:
            return self._frozen[filename]
        except KeyError:
            version = self._frozen[filename] = self.version(filename)
            return version

    def compressed_copies(self, path: Path) -> dict[str, Path]:
        """The file's up-to-date compressed copies by encoding, written first where missing.

        A copy is up to date when its modification time is the file's (set when it is written),
        so an edited, checked-out or deployed file is compressed again on its next use.
        """
        if path.suffix not in COMPRESSIBLE:
            return {}
        info = path.stat()
        copies = {}
        data = None
        for encoding, suffix in ENCODINGS.items():
            copy = path.with_name(path.name + suffix)
            try:
                if copy.stat().st_mtime_ns == info.st_mtime_ns:
                    copies[encoding] = copy
                    continue
            except FileNotFoundError:
                pass
            if not self.writable:
                continue
            if data is None:
                data = path.read_bytes()
            try:
                self._write(copy, compress(data, encoding), info)
            except OSError as error:
                # A read-only deployment still works, uncompressed; say so once.
                self.writable = False
                self.logger.warning("Static files are sent uncompressed: %s", error)
                continue
            copies[encoding] = copy
        return copies

    def compress_all(self) -> None:
        for path in sorted(self.root.rglob("*")):
            if path.suffix in COMPRESSIBLE and path.is_file():
                self.compressed_copies(path)

    @staticmethod
    def _write(copy: Path, data: bytes, source: os.stat_result) -> None:
        # Written under a temporary name, then renamed: several processes may start at once,
        # and none may ever send half a file.
        handle, temporary = tempfile.mkstemp(dir=copy.parent, prefix=f".{copy.name}.")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.chmod(temporary, stat.S_IMODE(source.st_mode))
            os.utime(temporary, ns=(source.st_atime_ns, source.st_mtime_ns))
            os.replace(temporary, copy)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def send_static_file(filename: str) -> Response:
    """Send a static file in the smallest encoding the browser accepts, cached by version."""
    folder: StaticFolder = current_app.extensions["portal_static_folder"]
    path = folder.path(filename)
    if path is None:
        raise NotFound()
    variants = [(path.stat().st_size, "", path)]
    copies = folder.compressed_copies(path)
    for encoding, copy in copies.items():
        if request.accept_encodings[encoding]:
            variants.append((copy.stat().st_size, encoding, copy))
    _size, encoding, served = min(variants)
    current = request.args.get("v") == folder.version(filename)
    response = send_file(
        served,
        mimetype=mimetypes.guess_type(path.name)[0] or "application/octet-stream",
        download_name=path.name,
        max_age=ONE_YEAR if current else None,
    )
    if current:
        response.cache_control.immutable = True
    if encoding:
        response.content_encoding = encoding
    if copies:
        response.vary.add("Accept-Encoding")
    return response


class StaticFreeSessionInterface(SecureCookieSessionInterface):
    """Flask's cookie session, kept out of static responses.

    A static file is the same for everyone and cached for a year: it must carry neither the
    session cookie nor `Vary: Cookie`, which would make the browser fetch it again whenever the
    cookie changes, and it changes on every page (the idle clock, security.md S4). Error pages
    (a missing file) are pages like any other.
    """

    def save_session(self, app, session, response) -> None:
        if request.endpoint == "static" and response.status_code < 400:
            return
        super().save_session(app, session, response)


def register_static_files(app: Flask) -> None:
    """Serve portal/static through `send_static_file`; give every static URL its version."""
    folder = StaticFolder(Path(app.root_path) / "static", app.logger)
    folder.compress_all()
    # Development serves files as they are edited; a released portal's files are fixed.
    folder.frozen = not (app.debug or app.testing)
    app.extensions["portal_static_folder"] = folder
    app.session_interface = StaticFreeSessionInterface()
    app.add_url_rule("/static/<path:filename>", endpoint="static", view_func=send_static_file)

    @app.url_defaults
    def add_static_version(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "v" not in values:
            version = folder.url_version(values.get("filename", ""))
            if version:
                values["v"] = version
