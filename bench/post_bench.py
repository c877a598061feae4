"""Write-path load benchmark: posting comments at 1, 4, 16 and 64 clients, against a bare floor.

Run from the repository root:  .venv/bin/python bench/post_bench.py [--db both] [--duration 4]

Per backend (SQLite, PostgreSQL) it migrates a fresh database, starts the service (`wsgi:app`)
and the floor (`bench/floor_app.py`, whose `POST /ok` parses the same JSON body) under the same
gunicorn settings (2 sync workers), then for each concurrency level runs a floor pass and,
right after it, an app pass with `wrk -t1 -cN`, each `--duration` seconds. Every post is a new
comment (a third are replies) with its own text, so none is taken for a repeat. Rate limits are
off, moderation is `none`. All traffic goes to 127.0.0.1; everything started is stopped at the
end, on failure, on Ctrl-C and on SIGTERM. The defaults take about 80 s for both backends.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # measure the tree this file sits in, wherever the venv points

import sqlalchemy as sa  # noqa: E402

from commentsvc.tokens import issue_form_token  # noqa: E402
from tests.support.databases import fresh_postgres, migrate, postgres_problem  # noqa: E402
from tests.support.env import SECRET_KEY, service_env  # noqa: E402
from tests.support.http import Client  # noqa: E402
from tests.support.server import LOAD_SETTINGS, Server  # noqa: E402

WRK = "/usr/bin/wrk"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LEVELS = (1, 4, 16, 64)
URIS = [
    f"/blog/2025/{slug}/"
    for slug in (
        "sqlite-in-production",
        "self-hosting-comments",
        "a-year-of-rust",
        "notes-on-caching",
        "why-markdown",
        "moving-to-postgres",
        "weekly-links-42",
        "on-moderation",
    )
]
# shared/BENCHMARKS.md, "post a comment (JSON)": wrk -t1 -c16 against the floor's POST /ok.
TARGET_RATIO, ISSO_RATIO, RATIO_LEVEL = 0.3, 0.099, 16

LUA = """
local tag, path = %(tag)s, %(path)s
local uris, parents, tokens = %(uris)s, %(parents)s, %(tokens)s
local n = 0
request = function()
  n = n + 1
  local i = n %% #uris + 1
  local reply = ""
  if n %% 3 == 0 then reply = ',"parent_id":' .. parents[i] end
  local text = "Comment " .. tag .. "-" .. n .. ": I **really** liked the part about `fsync` "
    .. "and [this benchmark](https://example.org/bench/" .. n .. "). Would the numbers "
    .. "change on a bigger machine? Thanks for writing it up, café and all."
  local own = tokens[i]
  local token = own[math.floor(n / #uris) %% #own + 1]  -- a fresh one per post: each works once
  local body = '{"uri":"' .. uris[i] .. '","text":"' .. text .. '","form_token":"'
    .. token .. '"' .. reply .. '}'
  return wrk.format("POST", path, {["Content-Type"] = "application/json"}, body)
end
"""


@dataclass
class Pass:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int


@dataclass
class Level:
    clients: int
    app: Pass
    floor: Pass

    @property
    def ratio(self) -> float:
        return self.app.rps / self.floor.rps if self.floor.rps else 0.0


@dataclass
class Report:
    backend: str
    levels: list[Level] = field(default_factory=list)
    stored: int = 0
    completed: int = 0
    duplicated: int = 0
    held: int = 0
    server_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


# --- wrk ---------------------------------------------------------------------------------------


def lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string of ASCII is a valid Lua string literal


TOKENS_PER_URI = 6000  # more posts than a 10 s pass makes; past them, tokens are reused (spam)


def lua_script(path: str, parents: list[int], workdir: Path) -> Path:
    """A wrk script posting to the URIs in turn, each post with a form token of its own (made
    with the server's key, as its GET /api/threads would hand them out)."""
    script = workdir / f"post-{secrets.token_hex(4)}.lua"
    tokens = (
        "{"
        + ", ".join(
            "{"
            + ", ".join(
                lua_string(issue_form_token(SECRET_KEY, "default", uri))
                for _ in range(TOKENS_PER_URI)
            )
            + "}"
            for uri in URIS
        )
        + "}"
    )
    script.write_text(
        encoding="utf-8",
        data=LUA
        % {
            "tokens": tokens,
            "tag": lua_string(secrets.token_hex(3)),
            "path": lua_string(path),
            "uris": "{" + ", ".join(lua_string(u) for u in URIS) + "}",
            "parents": "{" + ", ".join(str(p) for p in parents) + "}",
        },
    )
    return script


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(url: str, clients: int, seconds: float, script: Path) -> Pass:
    cmd = [
        WRK,
        "-t1",
        f"-c{clients}",
        f"-d{seconds:g}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    out = subprocess.run(
        cmd, capture_output=True, text=True, timeout=seconds + 60, check=True
    ).stdout
    percent = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+(?:us|ms|s|m))$", out, re.M))

    def latency(key: str) -> float:
        value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", percent[key]).groups()
        return _ms(value, unit)

    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Pass(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        p50_ms=latency("50"),
        p99_ms=latency("99"),
        requests=int(re.search(r"(\d+) requests in", out).group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(map(int, errors.groups())) if errors else 0,
    )


# --- one backend -------------------------------------------------------------------------------


def seed(port: int) -> list[int]:
    """One top-level comment per URI, for the replies to answer."""
    with Client(port) as client:
        parents = []
        for uri in URIS:
            response = client.post_comment(uri, f"The first comment on {uri}.")
            if response.status != 201:
                raise RuntimeError(f"seeding failed: {response.status} {response.body[:300]}")
            parents.append(response.json()["id"])
    return parents


def count_comments(database_url: str) -> tuple[int, int, int]:
    """Comments stored, how many repeat another's text (none should), how many are not public."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            total, distinct, held = conn.execute(
                sa.text(
                    "SELECT count(*), count(DISTINCT text), "
                    "count(*) FILTER (WHERE status <> 'approved') FROM comments"
                )
            ).one()
    finally:
        engine.dispose()
    return total, total - distinct, held


def run_backend(backend: str, args: argparse.Namespace) -> Report:
    report, started = Report(backend), time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix=f"commentsvc-post-bench-{backend}-"))
    try:
        with ExitStack() as stack:
            if backend == "sqlite":
                database_url = f"sqlite:///{workdir / 'bench.sqlite3'}"
            else:
                database_url = stack.enter_context(
                    fresh_postgres(args.postgres_url, prefix="commentsvc_bench")
                )
            migrate(database_url, workdir)
            env = service_env(database_url, workdir, **LOAD_SETTINGS)
            app = stack.enter_context(Server(env, workdir / "app.log", workers=2))
            floor = stack.enter_context(
                Server(
                    env,
                    workdir / "floor.log",
                    workers=2,
                    app="floor_app:app",
                    chdir=REPO / "bench",
                    ready_path="/ok",
                )
            )
            parents = seed(app.port)
            # a new script per pass: its texts carry a new tag, so no post repeats an earlier one
            run_wrk(floor.url("/ok"), 4, 1, lua_script("/ok", parents, workdir))
            report.completed += run_wrk(
                app.url("/api/comments"), 4, 1, lua_script("/api/comments", parents, workdir)
            ).requests  # warm-up, not reported
            for clients in args.levels:
                floor_pass = run_wrk(
                    floor.url("/ok"), clients, args.duration, lua_script("/ok", parents, workdir)
                )
                app_pass = run_wrk(
                    app.url("/api/comments"),
                    clients,
                    args.duration,
                    lua_script("/api/comments", parents, workdir),
                )
                report.completed += app_pass.requests
                report.levels.append(Level(clients, app_pass, floor_pass))
                print(
                    f"  {clients:>3} clients: {app_pass.rps:7.1f} posts/s, "
                    f"floor {floor_pass.rps:7.1f} req/s",
                    flush=True,
                )
            stored, report.duplicated, report.held = count_comments(database_url)
            report.stored = stored - len(parents)
            log = app.log_tail(100_000)
            report.server_errors = [
                line
                for line in log.splitlines()
                if "Traceback" in line or "database is locked" in line
            ]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report.seconds = time.monotonic() - started
    return report


# --- output ------------------------------------------------------------------------------------


def _fmt_ms(value: float) -> str:
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def print_table(reports: list[Report], duration: float) -> None:
    rows = [
        (
            "backend",
            "clients",
            "posts/s",
            "p50 ms",
            "p99 ms",
            "non-2xx",
            "floor req/s",
            "floor p50",
            "floor p99",
            "ratio to floor",
        )
    ]
    for report in reports:
        for level in report.levels:
            app, floor = level.app, level.floor
            rows.append(
                (
                    report.backend,
                    str(level.clients),
                    f"{app.rps:,.1f}",
                    _fmt_ms(app.p50_ms),
                    _fmt_ms(app.p99_ms),
                    str(app.non_2xx + app.socket_errors),
                    f"{floor.rps:,.0f}",
                    _fmt_ms(floor.p50_ms),
                    _fmt_ms(floor.p99_ms),
                    f"{level.ratio:.3f}",
                )
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print(
        f"\n== POST /api/comments: gunicorn 2 sync workers, wrk -t1 -cN --latency, "
        f"{duration:g} s per pass, a floor pass (POST /ok, same body) right before each =="
    )
    for n, row in enumerate(rows):
        print(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))
    for report in reports:
        at = [lv for lv in report.levels if lv.clients == RATIO_LEVEL]
        if at:
            ratio = at[0].ratio
            met = "met" if ratio >= TARGET_RATIO else "NOT met"
            print(
                f"{report.backend}: 'post a comment (JSON)' at {RATIO_LEVEL} clients: ratio "
                f"{ratio:.3f}, target >= {TARGET_RATIO} {met}; Isso {ISSO_RATIO}"
            )
        print(
            f"{report.backend}: {report.stored:,} comments stored by the load, wrk completed "
            f"{report.completed:,} (posts in flight when a pass ends are stored too), "
            f"{report.duplicated} stored twice, {report.held} held or marked spam; "
            f"run took {report.seconds:.0f} s"
        )
        if report.server_errors:
            print(
                f"WARNING {report.backend}: the server logged {len(report.server_errors)} "
                f"errors, first: {report.server_errors[0]}"
            )


def describe_machine() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=False
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "?"
    if git("status", "--porcelain", "--", "commentsvc", "migrations", "wsgi.py"):
        commit += " + uncommitted changes"
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return (
        f"commentsvc {commit}; Python {platform.python_version()}; {os.cpu_count()} CPUs, "
        f"load average {load} (shared machine: compare the ratios, not absolute figures)"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per wrk pass")
    parser.add_argument(
        "--levels",
        default=",".join(map(str, LEVELS)),
        help="comma-separated numbers of concurrent clients",
    )
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="server on which a throw-away database is created (and dropped)",
    )
    args = parser.parse_args(argv)
    try:
        args.levels = [int(n) for n in args.levels.split(",")]
    except ValueError:
        parser.error("--levels takes whole numbers, e.g. 1,4,16,64")
    if args.duration <= 0 or not args.levels or min(args.levels) < 1:
        parser.error("--duration and every level must be positive")
    passes = 2 * len(args.levels) * (2 if args.db == "both" else 1)
    if passes * args.duration > 150:
        parser.error(f"{passes} passes of {args.duration:g} s exceed the 150 s budget")
    return args


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not os.access(WRK, os.X_OK):
        print(f"{WRK} is missing: apt-get install -y wrk", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _interrupt)  # stop the servers on kill as on Ctrl-C
    signal.signal(signal.SIGINT, signal.default_int_handler)
    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    if "postgresql" in backends and (problem := postgres_problem(args.postgres_url)):
        print(f"{problem}; run with --db sqlite", file=sys.stderr)
        return 2
    print(describe_machine(), flush=True)
    reports = []
    try:
        for backend in backends:
            print(f"\n{backend}:", flush=True)
            reports.append(run_backend(backend, args))
    except KeyboardInterrupt:
        print("\ninterrupted: servers stopped, temporary database removed", file=sys.stderr)
        return 130
    print_table(reports, args.duration)
    return 0


if __name__ == "__main__":
    sys.exit(main())
