"""commentsvc side by side with Isso and a bare Flask floor, under the same load.

    .venv/bin/python bench/peer.py [--db sqlite|postgres|both] [--duration 10] [--rounds 1]

Both services are seeded through their own HTTP APIs with the same threads and texts; each row
then runs a wrk pass on the floor, on Isso and on commentsvc, one right after the other. See
bench/README.md ("peer.py") for what each row means and how to read the ratios.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import _isso
import _peer_lua
from _common import (
    DEFAULT_POSTGRES_URL,
    REPO,
    Database,
    Memory,
    MemoryPeak,
    Pass,
    Server,
    app_env,
    combine,
    describe_machine,
    fmt_ms,
    fmt_ratio,
    memory_now,
    migrate,
    post_script,
    ready_for_load,
    run_wrk,
    settle,
    start_gunicorn,
)
from _peer_services import (
    BIG_URI,
    COUNT_URIS,
    EMPTY_URI,
    MEDIUM_URI,
    POST_URIS,
    SIZES,
    SMALL_URI,
    Answer,
    Commentsvc,
    Entry,
    Isso,
    call,
    seed,
    seed_plan,
)

ROW_KEYS = ("read0", "read10", "read100", "read1000", "count1", "count50", "304", "gzip", "post")
SIDES = ("floor", "Isso", "commentsvc")


# --- rows --------------------------------------------------------------------------------------


@dataclass
class Call:
    """One server's side of a row: what wrk sends, and how to check one answer first."""

    path: str
    check: Callable[[Answer], str | None]  # what is wrong with an answer, or None
    body: object = None  # JSON, sent with every request
    headers: dict[str, str] = field(default_factory=dict)
    script: Callable[[Path], Path] | None = None  # makes a new wrk script for each pass
    probe: Callable[[], Answer] | None = None  # the checked request, when not path and body


@dataclass
class Row:
    key: str
    label: str
    sides: dict[str, Call | str]  # floor, Isso, commentsvc; a string says why it is not measured


def expect(status: int, problem: Callable[[bytes], str | None] | None = None):
    """A check: this status, and what `problem` finds in the (decompressed) body."""

    def check(answer: Answer) -> str | None:
        got, raw, headers = answer
        if got != status:
            return f"HTTP {got}, {status} expected: {raw[:200]!r}"
        if headers.get("content-encoding") == "gzip":
            raw = gzip.decompress(raw)
        return problem(raw) if problem else None

    return check


def build_rows(
    isso: Isso, app: Commentsvc, ids: dict[str, dict[str, list[int]]], keys: set[str]
) -> list[Row]:
    ok = Call("/ok", expect(200))
    rows = []
    for uri in (EMPTY_URI, SMALL_URI, MEDIUM_URI, BIG_URI):
        n = SIZES[uri]
        rows.append(
            Row(
                f"read{n}",
                f"read a thread, {n:,} comments",
                {
                    "floor": ok,
                    "Isso": Call(
                        isso.thread_path(uri),
                        expect(200, lambda raw, n=n: isso.thread_problem(raw, n)),
                    ),
                    "commentsvc": Call(
                        app.thread_path(uri),
                        expect(200, lambda raw, n=n: app.thread_problem(raw, n)),
                    ),
                },
            )
        )
    for key, uris in (("count1", [BIG_URI]), ("count50", COUNT_URIS)):
        sides: dict[str, Call | str] = {"floor": Call("/ok", expect(200), app.counts(uris)[1])}
        for side in (isso, app):
            path, body = side.counts(uris)
            sides[side.name] = Call(
                path,
                expect(200, lambda raw, side=side, uris=uris: side.counts_problem(raw, uris)),
                body,
            )
        rows.append(Row(key, f"counts for {len(uris)} URI{'s' * (len(uris) > 1)} (POST)", sides))
    rows += conditional_rows(isso, app)
    rows.append(post_row(isso, app, ids))
    return [row for row in rows if row.key in keys]


def conditional_rows(isso: Isso, app: Commentsvc) -> list[Row]:
    """The 100-comment thread asked again with its ETag, and asked as browsers do (gzip)."""
    path = app.thread_path(MEDIUM_URI)
    etag = call(app.server, path)[2].get("etag")
    again: Call | str = "not measured: this tree's thread answers carry no ETag"
    if etag:
        again = Call(path, expect(304), headers={"If-None-Match": etag})
    accept = {"Accept-Encoding": "gzip"}
    return [
        Row(
            "304",
            "read 100 comments again (If-None-Match)",
            {
                "floor": Call("/ok", expect(200), headers={"If-None-Match": '"0"'}),
                "Isso": "not measured: Isso's thread answers carry no ETag",
                "commentsvc": again,
            },
        ),
        Row(
            "gzip",
            "read 100 comments, Accept-Encoding: gzip",
            {
                "floor": Call("/ok", expect(200), headers=accept),
                "Isso": Call(
                    isso.thread_path(MEDIUM_URI),
                    expect(200, lambda raw: isso.thread_problem(raw, 100)),
                    headers=accept,
                ),
                "commentsvc": Call(
                    path, expect(200, lambda raw: app.thread_problem(raw, 100)), headers=accept
                ),
            },
        ),
    ]


def post_row(isso: Isso, app: Commentsvc, ids: dict[str, dict[str, list[int]]]) -> Row:
    """Each request a new comment (a third of them replies) to one of 8 threads in turn."""
    probe = Entry(
        "A first post, to check that posting works before the load starts.",
        "Bench reader",
        None,
        None,
        None,
    )
    parents = {name: [ids[name][uri][0] for uri in POST_URIS] for name in ids}
    floor_body = {"uri": POST_URIS[0], "author": probe.author, "text": probe.text}
    return Row(
        "post",
        "post a comment (JSON)",
        {
            "floor": Call(
                "/ok",
                expect(200),
                floor_body,
                script=lambda workdir: _peer_lua.write(
                    workdir, _peer_lua.FLOOR, uris=POST_URIS, parents=parents[app.name]
                ),
            ),
            "Isso": Call(
                isso.new_path(POST_URIS[0]),
                expect(201),
                probe=lambda: isso.post_answer(POST_URIS[0], probe, None),
                script=lambda workdir: isso.post_script(workdir, parents[isso.name]),
            ),
            "commentsvc": Call(
                "/api/comments",
                expect(201),
                probe=lambda: app.post_answer(POST_URIS[0], probe, None),
                script=lambda workdir: app.post_script(workdir, parents[app.name]),
            ),
        },
    )


# --- measuring ---------------------------------------------------------------------------------


@dataclass
class Side:
    """What one server did in one row."""

    note: str = ""  # why it was not measured
    passes: list[Pass] = field(default_factory=list)
    raw: int = 0  # body bytes, decompressed
    gzip9: int = 0  # the body after gzip -9
    sent: int = 0  # body bytes as sent
    encoding: str = ""
    posting: dict[str, int] = field(default_factory=dict)  # what the posting script counted

    @property
    def result(self) -> Pass:
        result = combine(self.passes)
        reads = self.posting.get("token-reads", 0)
        if reads and result.requests:  # only the posts count as done work
            result.rps *= (result.requests - reads) / result.requests
        return result


@dataclass
class Report:
    backend: str
    isso_version: str
    pass_seconds: float
    rows: list[tuple[Row, dict[str, Side]]] = field(default_factory=list)
    memory: dict[str, dict[str, Memory]] = field(default_factory=dict)
    seed_note: str = ""
    longest_settle: float = 0.0
    seconds: float = 0.0


def probe(server: Server, name: str, row: Row, spec: Call) -> Side:
    """Send the row's request once; refuse to measure an answer that is not what it claims."""
    answer = spec.probe() if spec.probe else call(server, spec.path, spec.body, spec.headers)
    if problem := spec.check(answer):
        raise RuntimeError(f"{row.label}, {name}: {problem}")
    _, raw, headers = answer
    encoding = headers.get("content-encoding", "identity")
    body = gzip.decompress(raw) if encoding == "gzip" else raw
    return Side(
        raw=len(body),
        gzip9=len(gzip.compress(body, 9)) if body else 0,
        sent=len(raw),
        encoding=encoding,
    )


def measure(
    rows: list[Row],
    servers: dict[str, Server],
    args: argparse.Namespace,
    workdir: Path,
    report: Report,
) -> None:
    """For each row and round: a floor pass, an Isso pass and a commentsvc pass in a row."""
    peaks = {name: Memory() for name in servers}
    for row in rows:
        sides = {
            name: Side(note=spec)
            if isinstance(spec, str)
            else probe(servers[name], name, row, spec)
            for name, spec in row.sides.items()
        }
        for _ in range(args.rounds):
            for name, spec in row.sides.items():
                if isinstance(spec, str):
                    continue
                one = _one_pass(servers[name], spec, args, workdir, peaks[name])
                sides[name].passes.append(one)
                outcome = _peer_lua.posting_outcome(one.output)
                if spec.script and not outcome:
                    raise RuntimeError(
                        f"{row.label}, {name}: the wrk script printed no counts:\n{one.output}"
                    )
                for key, n in outcome.items():
                    sides[name].posting[key] = sides[name].posting.get(key, 0) + n
                report.longest_settle = max(report.longest_settle, settle(servers[name]))
        report.rows.append((row, sides))
        print(
            "  "
            + f"{row.label:<42}"
            + "   ".join(
                f"{name} {sides[name].result.rps:8.1f}" for name in SIDES if sides[name].passes
            ),
            flush=True,
        )
    for name, peak in peaks.items():
        report.memory[name]["peak under load"] = peak


def _one_pass(
    server: Server, spec: Call, args: argparse.Namespace, workdir: Path, peak: Memory
) -> Pass:
    script = None
    if spec.script:
        script = spec.script(workdir)
    elif spec.body is not None:
        script = post_script(workdir, json.dumps(spec.body))
    with MemoryPeak(server) as memory:
        one = run_wrk(
            server.url(spec.path),
            args.duration / args.rounds,
            script,
            args.connections,
            spec.headers,
        )
    if memory.rss_kib > peak.rss_kib:
        peak.rss_parts_kib = memory.parts_kib
    peak.pss_kib = max(peak.pss_kib, memory.pss_kib)
    return one


def idle_memory(servers: dict[str, Server], report: Report, when: str) -> None:
    for name, server in servers.items():
        settle(server)
        report.memory.setdefault(name, {})[when] = memory_now(server)


def run_backend(backend: str, args: argparse.Namespace, isso_version: str) -> Report:
    report = Report(backend, isso_version, args.duration / args.rounds)
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix=f"commentsvc-peer-{backend}-"))
    database = Database(backend, workdir, args.postgres_url)
    servers: dict[str, Server] = {}
    try:
        env = app_env(database.create(), workdir)
        migrate(env)
        servers["floor"] = start_gunicorn(
            "floor", "floor_app:app", REPO / "bench", env, workdir, "/ok"
        )
        # The floor stands in for the blog that Isso checks it can reach when it starts.
        servers["Isso"] = _isso.start(args.isso_venv, workdir / "isso", servers["floor"].url("/"))
        servers["commentsvc"] = start_gunicorn(
            "commentsvc", "wsgi:app", REPO, env, workdir, "/healthz"
        )
        isso, app = Isso(servers["Isso"]), Commentsvc(servers["commentsvc"])
        plan = seed_plan()
        seeded = seed([app, isso], plan)
        report.seed_note = (
            f"{sum(len(e) for _, e in plan):,} comments in {len(plan)} threads + 1 URI without "
            "comments, posted through each service's API, both at once: "
            + ", ".join(f"{name} {seconds:.1f} s" for name, (seconds, _) in seeded.items())
        )
        print(f"  seeded: {report.seed_note}", flush=True)
        idle_memory(servers, report, "idle after seeding")
        rows = build_rows(
            isso, app, {name: ids for name, (_, ids) in seeded.items()}, set(args.rows)
        )
        for name, path in (
            ("floor", "/ok"),
            ("Isso", isso.thread_path(SMALL_URI)),
            ("commentsvc", app.thread_path(SMALL_URI)),
        ):
            run_wrk(servers[name].url(path), 1, None, args.connections)  # warm-up, dropped
            settle(servers[name])
        measure(rows, servers, args, workdir, report)
        idle_memory(servers, report, "idle after the run")
    finally:
        for server in servers.values():
            server.stop()
        database.drop()
        shutil.rmtree(workdir, ignore_errors=True)
    report.seconds = time.monotonic() - started
    return report


# --- output ------------------------------------------------------------------------------------

BACKEND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _errors(side: Side) -> str:
    notes = []
    errors: dict[str, int] = {}
    for one in side.passes:
        for key, n in one.errors.items():
            errors[key] = errors.get(key, 0) + n
    notes += [f"{key} {n:,}" for key, n in errors.items()]
    posting = side.posting
    if posting.get("held") or posting.get("refused"):
        notes.append(f"posts held {posting['held']:,}, refused {posting['refused']:,}")
    if posting.get("token-reads"):
        notes.append(f"{posting['token-reads']:,} token GETs left out of req/s (not of latency)")
    if side.passes and not sum(one.requests for one in side.passes):
        notes.append("no answer came back within the pass")
    if side.encoding not in ("", "identity"):
        notes.append(f"sent {side.encoding}")
    return "; ".join(notes) or side.note


def _ratio(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else fmt_ratio(value)


def _rps(value: float) -> str:
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def table_lines(report: Report) -> list[list[tuple[str, ...]]]:
    """The header, then for each row a line per server."""
    backend = BACKEND_NAMES[report.backend]
    labels = {"floor": "floor", "Isso": "Isso (SQLite)", "commentsvc": f"commentsvc ({backend})"}
    groups = [
        [
            (
                "work",
                "server",
                "req/s",
                "p50 ms",
                "p99 ms",
                "vs floor",
                "vs Isso",
                "raw B",
                "gzip-9 B",
                "sent B",
                "errors, notes",
            )
        ]
    ]
    for row, sides in report.rows:
        rps = {name: side.result.rps for name, side in sides.items() if side.passes}
        group = []
        for name in SIDES:
            side = sides[name]
            label = row.label if not group else ""
            if not side.passes:
                group.append((label, labels[name], *[""] * 8, _errors(side)))
                continue
            result = side.result
            vs_floor = vs_isso = ""
            if name != "floor" and rps.get("floor"):
                vs_floor = _ratio(result.rps / rps["floor"])
            if name == "commentsvc" and rps.get("Isso"):
                vs_isso = _ratio(result.rps / rps["Isso"])
            p50, p99 = fmt_ms(result.p50_ms), fmt_ms(result.p99_ms)
            if not result.requests:  # wrk reports 0 ms when nothing came back
                p50 = p99 = f"> {report.pass_seconds * 1000:,.0f}"
            group.append(
                (
                    label,
                    labels[name],
                    _rps(result.rps),
                    p50,
                    p99,
                    vs_floor,
                    vs_isso,
                    f"{side.raw:,}",
                    f"{side.gzip9:,}",
                    f"{side.sent:,}",
                    _errors(side),
                )
            )
        groups.append(group)
    return groups


def print_report(report: Report, args: argparse.Namespace) -> None:
    backend = BACKEND_NAMES[report.backend]
    groups = table_lines(report)
    lines = [line for group in groups for line in group]
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    left = (0, 1, len(widths) - 1)
    rounds = f" x{args.rounds} rounds" if args.rounds > 1 else ""
    print(
        f"\n== commentsvc on {backend}, Isso {report.isso_version} on SQLite (its only "
        f"backend), the floor (bare Flask): gunicorn, 2 sync workers each; wrk -t1 "
        f"-c{args.connections} --latency, {args.duration:g} s per pass{rounds}; in each row "
        "a floor, an Isso and a commentsvc pass, one right after the other =="
    )
    print(f"data: {report.seed_note}")
    for n, group in enumerate(groups):
        if n > 1:
            print()
        for line in group:
            print(
                "  ".join(
                    cell.ljust(w) if i in left else cell.rjust(w)
                    for i, (cell, w) in enumerate(zip(line, widths, strict=True))
                ).rstrip()
            )
        if n == 0:
            print("  ".join("-" * w for w in widths))
    print_memory(report)
    print(
        f"{backend} run took {report.seconds:.0f} s; the longest wait for a server to go "
        f"idle after a pass was {report.longest_settle:.1f} s"
    )


def _mib(kib: int) -> str:
    return f"{kib / 1024:.0f}"


def print_memory(report: Report) -> None:
    print(
        "memory of master + 2 workers, MiB: RSS sum (master + worker + worker) and PSS sum "
        "(pages shared after the fork counted once)"
    )
    whens = ("idle after seeding", "peak under load", "idle after the run")
    print(f"  {'':<26}" + "".join(f"{when:<32}" for when in whens))
    for name in SIDES:
        cells = []
        for when in whens:
            memory = report.memory.get(name, {}).get(when)
            if memory is None or not memory.rss_parts_kib:
                cells.append(f"{'-':<32}")
                continue
            parts = " + ".join(_mib(kib) for kib in memory.rss_parts_kib)
            cells.append(
                f"{_mib(memory.rss_kib):>4} ({parts}), PSS {_mib(memory.pss_kib):>4}".ljust(32)
            )
        label = {"Isso": f"Isso {report.isso_version}"}.get(name, name)
        print(f"  {label:<26}" + "".join(cells))


# --- main --------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db",
        choices=("sqlite", "postgres", "postgresql", "both"),
        default="both",
        help="commentsvc's database (Isso always uses SQLite)",
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk pass")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="split each row's time into this many floor/Isso/commentsvc turns",
    )
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--rows",
        default=",".join(ROW_KEYS),
        help=f"comma-separated rows to run, of: {', '.join(ROW_KEYS)}",
    )
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="server on which a throw-away database is created (and dropped)",
    )
    parser.add_argument(
        "--isso-venv",
        type=Path,
        default=_isso.default_venv(),
        help="where Isso's virtualenv is kept between runs",
    )
    args = parser.parse_args(argv)
    args.rows = [key.strip() for key in args.rows.split(",") if key.strip()]
    if unknown := set(args.rows) - set(ROW_KEYS):
        parser.error(f"unknown rows: {', '.join(sorted(unknown))}")
    if min(args.duration, args.connections, args.rounds) <= 0:
        parser.error("--duration, --connections and --rounds must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not ready_for_load():
        return 2
    backends = {"both": ["sqlite", "postgresql"], "postgres": ["postgresql"]}.get(
        args.db, [args.db]
    )
    started = time.monotonic()
    print(describe_machine(), flush=True)
    try:
        isso_version = _isso.ensure_venv(args.isso_venv)
        for backend in backends:
            print(f"\n{BACKEND_NAMES[backend]}:", flush=True)
            print_report(run_backend(backend, args, isso_version), args)
    except KeyboardInterrupt:
        print("\ninterrupted: servers stopped, temporary databases removed", file=sys.stderr)
        return 130
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        print(f"\nbenchmark failed (servers stopped, databases removed): {exc}", file=sys.stderr)
        return 1
    print(f"\nwhole run took {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
