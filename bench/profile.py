"""Profile one page of the load benchmark with pyinstrument, in-process, on a bench data set.

    .venv/bin/python bench/profile.py review_1000            # SQLite, scale 10
    .venv/bin/python bench/profile.py clearance --engine postgresql --scale 1 --repeat 5

Uses the data set `bench/run` built (run that first) on a throwaway copy, signs in as the same
account the benchmark uses, requests the page once to warm up, then profiles `--repeat` requests
and prints pyinstrument's call tree (or writes HTML with --html FILE). Also prints the number of
SQL statements per request.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load  # bench/load.py, beside this file


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", choices=[p.key for p in load.PAGES])
    parser.add_argument("--engine", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--html", type=Path, default=None)
    parser.add_argument("--sql", action="store_true", help="list the slowest SQL statements")
    parser.add_argument("--all", action="store_true", help="show library frames too")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "PORTAL_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()

    from pyinstrument import Profiler

    data_dir = load.ROOT / "bench" / ".data"
    if args.engine == "sqlite":
        engine = load.SQLiteEngine(data_dir, args.scale)
    else:
        engine = load.PostgresEngine(data_dir, args.scale, args.postgres_url)
    if not engine.ready():
        raise SystemExit(f"no scale-{args.scale} {args.engine} data set: run bench/run first")
    run_dir = data_dir / "profile"
    run_dir.mkdir(exist_ok=True)
    engine.fresh_copy(run_dir)
    env = engine.env(run_dir)
    targets = load.discover(env)
    page = next(p for p in load.PAGES if p.key == args.page)
    os.environ.update(env)

    from portal import create_app
    from portal.extensions import db

    app = create_app()
    app.config["WTF_CSRF_SSL_STRICT"] = False  # the test client sends no Referer
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"  # production cookies are Secure
    if page.who != "anonymous":
        html = client.get("/login").get_data(as_text=True)
        email = targets.consultant_email if page.who == "consultant" else targets.editor_email
        response = client.post(
            "/login",
            data={
                "csrf_token": load.csrf_token(html),
                "email": email,
                "password": load.BULK_PASSWORD,
            },
        )
        assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    url = targets.urls[page.key]
    form = None
    if page.method == "POST":
        start, end = targets.post_span
        html = client.get(f"{url}?language=en&start={start}&end={end}").get_data(as_text=True)
        form = {
            "csrf_token": load.csrf_token(html),
            "language": "en",
            "kind": "comment",
            "start": str(start),
            "end": str(end),
            "body": "A profiled comment.",
        }

    def request(n: int):
        if form is None:
            return client.get(url)
        return client.post(url, data={**form, "submission_key": f"profile-{n}-{time.time()}"})

    statements = [0]
    timings: list[tuple[float, str]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements[0] += 1
        conn.info["bench_started"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        timings.append((time.perf_counter() - conn.info["bench_started"], statement))

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", before)
        event.listen(db.engine, "after_cursor_execute", after)
    first = request(0)
    print(f"{page.label}: {url} answered {first.status_code}, {len(first.data):,} bytes")
    statements[0] = 0
    profiler = Profiler(interval=0.0005)
    started = time.perf_counter()
    with profiler:
        for n in range(args.repeat):
            request(n + 1)
    elapsed = (time.perf_counter() - started) / args.repeat
    print(f"{elapsed * 1000:.1f} ms per request, {statements[0] / args.repeat:.0f} SQL statements")
    if args.sql:
        print("Slowest SQL statements (seconds, first 300 characters):")
        for seconds, statement in sorted(timings, reverse=True)[:8]:
            print(f"  {seconds:.4f}  {' '.join(statement.split())[:300]}")
    if args.html:
        args.html.write_text(profiler.output_html())
        print(f"written {args.html}")
    else:
        print(
            re.sub(
                r"\n{3,}",
                "\n\n",
                profiler.output_text(unicode=True, color=False, show_all=args.all),
            )
        )
    engine.drop_copy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
