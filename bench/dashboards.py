"""Benchmark: the editor's report grid and the consultant's dashboard with hundreds of sections.

Prints latency percentiles and SQL statement counts for a small report (the baseline, 10 sections)
and a large one (500 sections x 12 consultants), measured in the same run on the same machine.

    .venv/bin/python bench/dashboards.py [--sections 500] [--rounds 30]

A benchmark, not a test: it prints figures and never fails on time.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import event

from portal import create_app
from portal.accounts.models import Role
from portal.assignments.services import accept, assign_section
from portal.extensions import db
from portal.models import utcnow
from portal.reports import services as reports

PASSWORD = "a long benchmark passphrase"


def build(app, sections: int, consultants: list, editor, title: str) -> int:
    report = reports.create_report(editor, title_en=title, year=2027)
    today = utcnow().date()
    for n in range(sections):
        section = reports.create_section(editor, report, title_en=f"{title} section {n}")
        reports.publish_version(
            editor,
            section,
            body_en=f"Text of section {n}.",
            body_fr=None,
            change_summary=None,
            based_on=0,
        )
        for i, consultant in enumerate(consultants):
            if (n + i) % 3 == 0:
                assignment = assign_section(
                    editor, section, consultant, due_on=today + timedelta(days=(n % 20) + 1)
                )
                if (n + i) % 2 == 0:
                    accept(consultant, assignment)
    db.session.commit()
    return report.id


def measure(client, url: str, rounds: int, counter: list[int]) -> tuple[list[float], int]:
    client.get(url)  # warm up
    timings = []
    statements = 0
    for _ in range(rounds):
        counter[0] = 0
        start = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
        statements = counter[0]
    return timings, statements


def describe(name: str, timings: list[float], statements: int) -> str:
    ordered = sorted(timings)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return (
        f"{name:<38} median {statistics.median(ordered):7.1f} ms   p95 {p95:7.1f} ms   "
        f"{statements:3d} SQL statements"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "bench-" + "x" * 40,
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(tmp) / 'bench.sqlite3'}",
                "PORTAL_ARGON2": {"time_cost": 1, "memory_cost": 1024, "parallelism": 1},
            }
        )
        counter = [0]
        with app.app_context():
            from flask_migrate import upgrade

            from portal.accounts import services as accounts

            upgrade()
            event.listen(
                db.engine,
                "before_cursor_execute",
                lambda *a, **k: counter.__setitem__(0, counter[0] + 1),
            )
            editor = accounts.create_user(
                email="editor@example.org",
                display_name="Editor",
                role=Role.EDITOR,
                password=PASSWORD,
            )
            consultants = [
                accounts.create_user(
                    email=f"c{i}@example.org",
                    display_name=f"Consultant {i}",
                    role=Role.CONSULTANT,
                    password=PASSWORD,
                )
                for i in range(12)
            ]
            print(f"building a 10-section report and a {args.sections}-section report…")
            small = build(app, 10, consultants, editor, "Small")
            large = build(app, args.sections, consultants, editor, "Large")

        app.config["WTF_CSRF_ENABLED"] = False  # the benchmark signs in without a form page
        editor_client = app.test_client()
        editor_client.post("/login", data={"email": "editor@example.org", "password": PASSWORD})
        consultant_client = app.test_client()
        consultant_client.post("/login", data={"email": "c0@example.org", "password": PASSWORD})

        rows = []
        for name, client, url in (
            ("report grid, 10 sections (baseline)", editor_client, f"/reports/{small}"),
            (f"report grid, {args.sections} sections", editor_client, f"/reports/{large}"),
            (
                f"report grid, {args.sections} sections, page 10",
                editor_client,
                f"/reports/{large}?page=10",
            ),
            ("consultant dashboard", consultant_client, "/"),
        ):
            timings, statements = measure(client, url, args.rounds, counter)
            rows.append((name, timings, statements))
            print(describe(name, timings, statements))
        baseline = statistics.median(rows[0][1])
        large_median = statistics.median(rows[1][1])
        print(f"large grid / baseline median: {large_median / baseline:.2f}x")


if __name__ == "__main__":
    main()
