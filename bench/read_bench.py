"""Read-path load benchmark: commentsvc under gunicorn against a bare Flask floor, driven by wrk.

Run from the repository root:  .venv/bin/python bench/read_bench.py [--db both] [--duration 10]
See bench/README.md for what is measured and how to read the table.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import (
    DEFAULT_POSTGRES_URL,
    HOST,
    NAMES,
    REPO,
    Database,
    MemoryPeak,
    Pass,
    Server,
    app_env,
    combine,
    comment_text,
    describe_machine,
    fetch,
    fmt_ms,
    fmt_ratio,
    migrate,
    post_script,
    ready_for_load,
    run_wrk,
    start_gunicorn,
    tree_shape,
)

sys.path.insert(0, str(REPO))  # measure the tree this file sits in, wherever the venv points

BIG_URI = "/blog/2024/why-we-self-host-our-comments/"
MEDIUM_URI = "/blog/2024/sqlite-in-production/"
SMALL_URI = "/blog/2024/a-short-note-on-caching/"
EMPTY_URI = "/blog/2024/nobody-has-commented-yet/"
SEEDED = [(BIG_URI, 1000), (MEDIUM_URI, 100), (SMALL_URI, 10)] + [
    (f"/notes/{i:03d}-weekly-links/", 5) for i in range(100)
]
COUNT_URIS = [uri for uri, _ in SEEDED[3:53]]  # 50 ordinary posts, as on a blog's index page

# Isso's ratio to the floor and ours to reach, from shared/BENCHMARKS.md.
ISSO_MIB = "242-278 MiB"
TARGET_MIB = 150
ISSO_GZIP_100 = 8959


def seed(env: dict[str, str]) -> dict[str, int]:
    """Fill the database with approved comments, stored as the service stores a post."""
    with _environ(env):
        from commentsvc import create_app
        from commentsvc.extensions import db

        app = create_app()
    rng = random.Random(20241127)  # noqa: S311  (reproducible data, not crypto)
    stats = {"comments": 0, "max_depth": 0}
    with app.app_context():
        for uri, n in SEEDED:
            depths = _seed_thread(db.session, app.config["SECRET_KEY"], rng, uri, n)
            db.session.commit()
            stats["comments"] += n
            stats["max_depth"] = max(stats["max_depth"], *depths)
        db.session.remove()
        db.engine.dispose()
    return stats


def _seed_thread(session, secret: str, rng: random.Random, uri: str, n: int) -> list[int]:
    """One thread of n comments spread over the past weeks; returns their reply depths.

    Rows go in through the models, with the service's own renderer and hashes: about twice as
    fast as post_comment, whose per-comment lookups and moderation queries are skipped.
    """
    from commentsvc.comments import anonymise_address
    from commentsvc.models import Comment, Status, Thread
    from commentsvc.render import render_comment
    from commentsvc.tokens import keyed_hash

    when = datetime.now(UTC) - timedelta(days=30)
    thread = Thread(uri=uri, title=uri.strip("/").split("/")[-1].replace("-", " "), created=when)
    session.add(thread)
    comments: list[Comment] = []
    depths: list[int] = []
    remote_hash = keyed_hash(secret, HOST)
    for parent in tree_shape(rng, n):
        author = rng.choice(NAMES) if rng.random() < 0.85 else None
        email = f"reader{rng.randint(1, 400)}@example.org" if rng.random() < 0.5 else None
        website = (
            f"https://{author.split()[0].lower()}.example.net/"
            if author and rng.random() < 0.3
            else None
        )
        text = comment_text(rng)
        when += timedelta(seconds=rng.randint(30, 20 * 60))
        comment = Comment(
            thread=thread,
            parent_id=comments[parent].id if parent is not None else None,
            author=author,
            email=email,
            website=website,
            text=text,
            html=render_comment(text),
            status=Status.approved,
            created=when,
            remote_addr=anonymise_address(HOST),
            remote_hash=remote_hash,
            avatar=keyed_hash(secret, email or f"{author}|{remote_hash}", 16),
        )
        session.add(comment)
        session.flush()  # the id, for the replies to come
        comments.append(comment)
        depths.append(0 if parent is None else depths[parent] + 1)
    return depths


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# --- the work ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Work:
    label: str
    path: str
    target: float  # our ratio to the floor, to reach (shared/BENCHMARKS.md)
    isso: float  # Isso's ratio to the floor
    body: str | None = None  # a JSON body makes it a POST, against the POST floor
    expect: int | None = None  # comments the thread response must hold

    def __str__(self) -> str:
        return self.label


def thread_path(uri: str) -> str:
    return "/api/threads?" + urllib.parse.urlencode({"uri": uri, "limit": 1000})


COUNTS_BODY = json.dumps({"uris": COUNT_URIS})
WORK = [
    Work("read a thread, 0 comments", thread_path(EMPTY_URI), 0.9, 0.56, expect=0),
    Work("read a thread, 10 comments", thread_path(SMALL_URI), 0.8, 0.049, expect=10),
    Work("read a thread, 100 comments (nested)", thread_path(MEDIUM_URI), 0.5, 0.0072, expect=100),
    Work("read a thread, 1,000 comments", thread_path(BIG_URI), 0.1, 0.0009, expect=1000),
    Work(
        "counts for 1 URI (GET)",
        "/api/counts?" + urllib.parse.urlencode({"uri": BIG_URI}),
        0.8,
        0.38,
    ),
    Work(
        "counts for 50 URIs (GET)",
        "/api/counts?" + urllib.parse.urlencode([("uri", u) for u in COUNT_URIS]),
        0.8,
        0.38,
    ),
    Work("counts for 50 URIs (POST JSON)", "/api/counts", 0.8, 0.38, body=COUNTS_BODY),
]


def _count_nodes(nodes: list[dict]) -> int:
    return sum(1 + _count_nodes(n["replies"]) for n in nodes)


def check_response(server: Server, work: Work) -> None:
    """Before loading an endpoint, prove it answers what the row claims to measure."""
    body = work.body.encode() if work.body else None
    headers = {"Content-Type": "application/json"} if body else {}
    status, raw, _ = fetch(server.url(work.path), body, headers)
    if status != 200:
        raise RuntimeError(f"{work}: HTTP {status}")
    data = json.loads(raw)
    if work.expect is not None:
        got = _count_nodes(data["comments"])
        if got != work.expect or data["count"] != work.expect or data["next"] is not None:
            raise RuntimeError(f"{work}: {got} comments returned, {work.expect} expected")
    elif any(n != (1000 if uri == BIG_URI else 5) for uri, n in data["counts"].items()):
        raise RuntimeError(f"{work}: unexpected counts {data['counts']}")


@dataclass
class Row:
    work: Work
    app: Pass
    floor: Pass

    @property
    def ratio(self) -> float:
        return self.app.rps / self.floor.rps if self.floor.rps else 0.0


@dataclass
class Report:
    backend: str
    rows: list[Row] = field(default_factory=list)
    rss_kib: int = 0
    rss_parts_kib: list[int] = field(default_factory=list)
    pss_kib: int = 0
    floor_rss_kib: int = 0
    raw_100: int = 0
    gzip_100: int = 0
    gzip_100_html: int = 0
    gzip_100_rest: int = 0
    served_encoding: str = ""
    seed_note: str = ""
    seconds: float = 0.0


# --- one backend -------------------------------------------------------------------------------


def prepare(database_url: str, workdir: Path, report: Report) -> dict[str, str]:
    env = app_env(database_url, workdir)
    migrate(env)
    started = time.monotonic()
    stats = seed(env)
    report.seed_note = (
        f"{stats['comments']} comments in {len(SEEDED)} threads + 1 empty uri, "
        f"replies up to depth {stats['max_depth']}, "
        f"seeded in {time.monotonic() - started:.1f} s"
    )
    print(f"  {report.seed_note}", flush=True)
    return env


def measure(
    app: Server, floor: Server, args: argparse.Namespace, workdir: Path, report: Report
) -> None:
    """Each row: a floor pass, then an app pass, so both see the same machine weather."""
    for work in WORK:
        check_response(app, work)
    run_wrk(floor.url("/ok"), 2, None, args.connections)  # warm both up, results dropped
    run_wrk(app.url(WORK[2].path), 2, None, args.connections)
    floor_post = post_script(workdir, COUNTS_BODY)  # the floor parses the same body
    for work in WORK:
        script = post_script(workdir, work.body) if work.body else None
        floor_passes, app_passes = [], []
        for _ in range(args.rounds):
            with MemoryPeak(floor) as floor_memory:
                floor_passes.append(
                    run_wrk(
                        floor.url("/ok"),
                        args.duration / args.rounds,
                        floor_post if work.body else None,
                        args.connections,
                    )
                )
            with MemoryPeak(app) as memory:
                app_passes.append(
                    run_wrk(
                        app.url(work.path), args.duration / args.rounds, script, args.connections
                    )
                )
            if memory.rss_kib > report.rss_kib:
                report.rss_kib, report.rss_parts_kib = memory.rss_kib, memory.parts_kib
            report.pss_kib = max(report.pss_kib, memory.pss_kib)
            report.floor_rss_kib = max(report.floor_rss_kib, floor_memory.rss_kib)
        row = Row(work, combine(app_passes), combine(floor_passes))
        report.rows.append(row)
        print(
            f"  {work.label:<38} {row.app.rps:9.1f} req/s   floor {row.floor.rps:9.1f}", flush=True
        )
    _, raw, _ = fetch(app.url(WORK[2].path))
    report.raw_100, report.gzip_100 = len(raw), len(gzip.compress(raw, compresslevel=9))
    report.gzip_100_html, report.gzip_100_rest = gzip_split(raw)
    _, _, headers = fetch(app.url(WORK[2].path), headers={"Accept-Encoding": "gzip"})
    report.served_encoding = headers.get("Content-Encoding", "identity")


def gzip_split(raw: bytes) -> tuple[int, int]:
    """gzip -9 sizes of the comments' HTML alone and of everything else in a thread response."""
    body = json.loads(raw)
    stack, html = list(body["comments"]), []
    while stack:
        node = stack.pop()
        html.append(node["html"])
        node["html"] = ""
        stack.extend(node["replies"])
    rest = json.dumps(body, separators=(",", ":")).encode()
    return (
        len(gzip.compress("".join(html).encode(), compresslevel=9)),
        len(gzip.compress(rest, compresslevel=9)),
    )


def run_backend(backend: str, args: argparse.Namespace) -> Report:
    report = Report(backend)
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix=f"commentsvc-bench-{backend}-"))
    database = Database(backend, workdir, args.postgres_url)
    servers: list[Server] = []
    try:
        env = prepare(database.create(), workdir, report)
        servers.append(start_gunicorn("app", "wsgi:app", REPO, env, workdir, "/healthz"))
        servers.append(
            start_gunicorn("floor", "floor_app:app", REPO / "bench", env, workdir, "/ok")
        )
        measure(servers[0], servers[1], args, workdir, report)
    finally:
        for server in servers:
            server.stop()
        database.drop()
        shutil.rmtree(workdir, ignore_errors=True)
    report.seconds = time.monotonic() - started
    return report


# --- output ------------------------------------------------------------------------------------


def table_lines(report: Report) -> list[tuple[str, ...]]:
    lines = [
        (
            "work",
            "req/s",
            "p50 ms",
            "p99 ms",
            "floor req/s",
            "ratio to floor",
            "target ratio",
            "met",
            "Isso ratio",
        )
    ]
    for row in report.rows:
        lines.append(
            (
                row.work.label,
                f"{row.app.rps:,.0f}",
                fmt_ms(row.app.p50_ms),
                fmt_ms(row.app.p99_ms),
                f"{row.floor.rps:,.0f}",
                fmt_ratio(row.ratio),
                f">= {row.work.target:g}",
                "yes" if row.ratio >= row.work.target else "NO",
                fmt_ratio(row.work.isso),
            )
        )
    for method, posts in (("GET", False), ("POST", True)):
        floors = [row.floor for row in report.rows if bool(row.work.body) == posts]
        if floors:
            floor = combine(floors)
            lines.append(
                (
                    f"floor {method} /ok, all its passes",
                    f"{floor.rps:,.0f}",
                    fmt_ms(floor.p50_ms),
                    fmt_ms(floor.p99_ms),
                    f"{floor.rps:,.0f}",
                    "1",
                    "",
                    "",
                    "",
                )
            )
    return lines


def print_report(report: Report, args: argparse.Namespace) -> None:
    lines = table_lines(report)
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    rounds = f" x{args.rounds} rounds" if args.rounds > 1 else ""
    print(
        f"\n== {report.backend}: gunicorn 2 sync workers; wrk -t1 -c{args.connections} "
        f"--latency, {args.duration:g} s per row{rounds}; a floor pass right before each app "
        "pass =="
    )
    print(f"data: {report.seed_note}")
    for n, line in enumerate(lines):
        print(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(line, widths, strict=True))
            )
        )
        if n == 0 or n == len(report.rows):
            print("  ".join("-" * w for w in widths))
    print("post a comment (JSON): not measured here (a read benchmark)")
    for row in report.rows:
        for name, result in (("app", row.app), ("floor", row.floor)):
            if result.errors:
                print(
                    f"WARNING {row.work.label}, {name}: wrk counted {result.errors} "
                    f"of {result.requests} requests"
                )
    rss, pss = report.rss_kib / 1024, report.pss_kib / 1024
    parts = " + ".join(f"{kib / 1024:.0f}" for kib in report.rss_parts_kib)
    print(
        f"memory under load, master + 2 workers: peak RSS sum {rss:.0f} MiB ({parts}; "
        f"PSS sum {pss:.0f} MiB); target <= {TARGET_MIB} MiB "
        f"{'met' if rss <= TARGET_MIB else 'NOT met'}; Isso {ISSO_MIB}; "
        f"floor app {report.floor_rss_kib / 1024:.0f} MiB"
    )
    print(
        f"thread response, 100 comments: {report.raw_100:,} B raw, {report.gzip_100:,} B "
        f"gzip -9 (Isso {ISSO_GZIP_100:,} B, other texts); of it, compressed apart: the "
        f"comments' HTML {report.gzip_100_html:,} B, all else {report.gzip_100_rest:,} B; "
        f"served with Content-Encoding: {report.served_encoding}"
    )
    print(f"backend run took {report.seconds:.0f} s")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk pass")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="split each row's time into this many floor/app pass pairs",
    )
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="server on which a throw-away database is created (and dropped)",
    )
    args = parser.parse_args(argv)
    if min(args.duration, args.connections, args.rounds) <= 0:
        parser.error("--duration, --connections and --rounds must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not ready_for_load():
        return 2
    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    print(describe_machine(), flush=True)
    try:
        for backend in backends:
            print(f"\n{backend}:", flush=True)
            print_report(run_backend(backend, args), args)
    except KeyboardInterrupt:
        print("\ninterrupted: servers stopped, temporary database removed", file=sys.stderr)
        return 130
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        print(f"\nbenchmark failed (servers stopped, database removed): {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
