"""The WSGI entry point gunicorn imports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_entry_point_freezes_what_starting_made(tmp_path):
    """Full garbage collections leave the startup objects alone (gc.freeze): without it they
    paused a worker 70-100 ms every few dozen requests on the largest pages."""
    env = {
        **os.environ,
        "PORTAL_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.sqlite3'}",
    }
    script = "import gc, wsgi; print(type(wsgi.app).__name__, gc.get_freeze_count())"
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    name, frozen = result.stdout.split()
    assert name == "Flask"
    assert int(frozen) > 10_000
