"""Backups: made while the portal runs, restored into the database DATABASE_URL names (R7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask.cli import FlaskGroup, ScriptInfo
from sqlalchemy import select

from portal.accounts.models import User
from portal.extensions import db
from tests.test_access_matrix import database_fingerprint


def cli(app, *args, input=None):
    group = FlaskGroup(create_app=lambda: app, load_dotenv=False, set_debug_flag=False)
    return app.test_cli_runner().invoke(
        group, list(args), obj=ScriptInfo(create_app=lambda: app), input=input
    )


@pytest.fixture
def seeded(app):
    result = cli(app, "seed-demo", "--password", "a long and unusual test passphrase")
    assert result.exit_code == 0, result.output
    uploads = Path(app.config["PORTAL_UPLOAD_DIR"])
    (uploads / "photos").mkdir(parents=True, exist_ok=True)
    (uploads / "photos" / "a.webp").write_bytes(b"RIFF....WEBPVP8 fake image bytes")
    return app


def test_backup_and_restore_round_trip(seeded, tmp_path):
    app = seeded
    before = database_fingerprint(app)
    target = tmp_path / "backup-1"
    result = cli(app, "backup", str(target))
    assert result.exit_code == 0, result.output
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["schema_revision"]
    assert "uploads/photos/a.webp" in manifest["files"]

    # Lose data and files after the backup.
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "consultant@example.org"))
        user.display_name = "Changed after the backup"
        db.session.commit()
    uploads = Path(app.config["PORTAL_UPLOAD_DIR"])
    (uploads / "photos" / "a.webp").unlink()
    (uploads / "stray.txt").write_text("not in the backup")

    refused = cli(app, "restore", str(target), input="n\n")
    assert refused.exit_code != 0
    assert database_fingerprint(app) != before

    restored = cli(app, "restore", str(target), "--yes")
    assert restored.exit_code == 0, restored.output
    assert database_fingerprint(app) == before
    assert (uploads / "photos" / "a.webp").read_bytes() == b"RIFF....WEBPVP8 fake image bytes"
    assert not (uploads / "stray.txt").exists()
    verified = cli(app, "audit", "verify")
    assert verified.exit_code == 0, verified.output


def test_a_damaged_backup_is_refused(seeded, tmp_path):
    target = tmp_path / "backup-2"
    assert cli(seeded, "backup", str(target)).exit_code == 0
    (target / "uploads" / "photos" / "a.webp").write_bytes(b"tampered")
    result = cli(seeded, "restore", str(target), "--yes")
    assert result.exit_code != 0
    assert "damaged" in result.output


def test_backup_refuses_an_existing_folder(seeded, tmp_path):
    result = cli(seeded, "backup", str(tmp_path))
    assert result.exit_code != 0
    assert "already exists" in result.output
