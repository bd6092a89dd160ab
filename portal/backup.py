"""Consistent online backups of the database and the uploaded files, and restoring them (R7).

A backup is a folder: `database.sqlite3` (SQLite's online backup API) or `database.dump`
(`pg_dump` custom format), a copy of the upload folder, and `manifest.json` with the engine,
the time, the schema revision and a SHA-256 of every file, checked again before a restore.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from portal.models import utcnow

MANIFEST = "manifest.json"


class BackupError(RuntimeError):
    """A backup or restore could not be made; the message says why."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _libpq_url(database_url: str) -> str:
    """pg_dump and pg_restore take a libpq URL, without SQLAlchemy's driver suffix."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client).")
    return path


def _sqlite_path(database_url: str) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise BackupError("An in-memory SQLite database cannot be backed up.")
    return Path(database)


def make_backup(database_url: str, upload_dir: Path, target: Path, revision: str | None) -> dict:
    """Write a backup folder at `target` (which must not exist yet) while the portal runs."""
    if target.exists():
        raise BackupError(f"{target} already exists; choose a new folder for the backup.")
    target.mkdir(parents=True)
    backend = make_url(database_url).get_backend_name()
    if backend == "sqlite":
        source = sqlite3.connect(_sqlite_path(database_url))
        destination = sqlite3.connect(target / "database.sqlite3")
        try:
            source.backup(destination)  # a consistent snapshot, even with writers running
        finally:
            destination.close()
            source.close()
    elif backend == "postgresql":
        result = subprocess.run(  # noqa: S603  (fixed program, arguments from configuration)
            [
                _tool("pg_dump"),
                "--format=custom",
                "--no-owner",
                f"--file={target / 'database.dump'}",
                _libpq_url(database_url),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    else:
        raise BackupError(f"Backups of {backend} databases are not supported.")
    if upload_dir.exists():
        shutil.copytree(upload_dir, target / "uploads")
    else:
        (target / "uploads").mkdir()
    manifest = {
        "engine": backend,
        "created_at": utcnow().isoformat(),
        "schema_revision": revision,
        "files": {str(path.relative_to(target)): _sha256(path) for path in _files(target)},
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def read_manifest(source: Path) -> dict:
    """Load a backup's manifest and check every file against it."""
    try:
        manifest = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise BackupError(f"{source} is not a portal backup (no readable {MANIFEST}).") from error
    for name, digest in manifest.get("files", {}).items():
        path = source / name
        if not path.is_file() or _sha256(path) != digest:
            raise BackupError(f"The backup is damaged: {name} is missing or changed.")
    return manifest


def restore_backup(source: Path, database_url: str, upload_dir: Path) -> dict:
    """Replace the database named by `database_url` and the upload folder with the backup's."""
    manifest = read_manifest(source)
    backend = make_url(database_url).get_backend_name()
    if manifest["engine"] != backend:
        raise BackupError(
            f"This backup is of a {manifest['engine']} database; DATABASE_URL names {backend}."
        )
    if backend == "sqlite":
        path = _sqlite_path(database_url)
        path.parent.mkdir(parents=True, exist_ok=True)
        source_db = sqlite3.connect(source / "database.sqlite3")
        destination = sqlite3.connect(path)
        try:
            source_db.backup(destination)
        finally:
            destination.close()
            source_db.close()
    else:
        result = subprocess.run(  # noqa: S603  (fixed program, arguments from configuration)
            [
                _tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                f"--dbname={_libpq_url(database_url)}",
                str(source / "database.dump"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise BackupError(f"pg_restore failed: {result.stderr.strip()}")
    if upload_dir.exists():
        shutil.rmtree(upload_dir)
    shutil.copytree(source / "uploads", upload_dir)
    os.chmod(upload_dir, 0o700)
    return manifest
