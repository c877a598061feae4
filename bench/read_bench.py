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
import platform
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(REPO))  # measure the tree this file sits in, wherever the venv points
WRK = "/usr/bin/wrk"
HOST = "127.0.0.1"  # every byte of load goes to this machine only
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SECRET_KEY = "bench-secret-" + "k" * 40

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


# --- seed data ---------------------------------------------------------------------------------

WORDS = """
the a of to and in that it is was for on with as this but be at by not are from have had or
comment thread reply post blog server database query index cache page reader writer moderation
markdown sqlite postgres python flask gunicorn nginx request response latency throughput memory
deploy backup migration schema table column row transaction lock write read count tree nested
spam token form link author website email browser script widget style layout font colour theme
agree disagree think believe wonder maybe perhaps probably certainly honestly actually really
great good bad odd strange useful helpful clear confusing slow fast simple complex small large
yesterday today tomorrow week month year morning evening weekend holiday release version update
i you we they he she someone everyone nobody people friend colleague team community maintainer
write wrote read tried found noticed learned fixed broke changed moved switched kept dropped
because although however therefore meanwhile instead otherwise besides anyway still already
article example question answer point argument detail section paragraph sentence footnote quote
café naïve Zürich déjà façade résumé coöperate über jalapeño
""".split()
MAX_LINKS = 2  # the service holds a comment with more links for review: seed what it approves
NAMES = [
    "Ada", "Grace H.", "Linus", "Margaret", "ken_t", "Barbara L.", "dmr", "Radia", "Frances",
    "Hedy", "Alan", "Edsger", "Donald K.", "Tim B-L", "Sophie W.", "Katherine", "Mary Ann",
    "jo", "Ines", "Mateo", "Yuki", "Amara", "Priya S.", "Olu", "Chen Wei", "Zoë", "Björn",
    "Lucía", "Noor", "Tomás", "Aiko", "Kwame", "Elif", "Sven", "Ana P.", "Rafael", "Leila",
]


def _sentence(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(6, 16))
    roll = rng.random()
    i = rng.randrange(1, len(words))  # the capitalised first word stays a plain word
    if roll < 0.12:
        words[i] = f"**{words[i]}**"
    elif roll < 0.24:
        words[i] = f"*{words[i]}*"
    elif roll < 0.34:
        words[i] = f"`{words[i]}()`"
    elif roll < 0.42:
        words[i] = f"[{words[i]}](https://example.org/{rng.choice(WORDS)}/{rng.randint(1, 999)})"
    elif roll < 0.48:
        words[i] = f"https://docs.example.net/{rng.choice(WORDS)}.html"
    text = " ".join(words)
    return text[0].upper() + text[1:] + rng.choice(".....?!")


def _block(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.10:
        return "\n".join(f"- {_sentence(rng)}" for _ in range(rng.randint(2, 3)))
    if roll < 0.20:
        return "> " + _sentence(rng)
    if roll < 0.25:
        return "```\n" + "\n".join(
            f"{rng.choice(WORDS)} = {rng.randint(0, 99)}" for _ in range(3)) + "\n```"
    return " ".join(_sentence(rng) for _ in range(rng.randint(1, 3)))


def comment_text(rng: random.Random) -> str:
    """Markdown of 100 to 600 characters: paragraphs, emphasis, code, links, quotes, lists."""
    while True:
        text = _comment_text(rng)
        if text.count("https://") <= MAX_LINKS:
            return text


def _comment_text(rng: random.Random) -> str:
    target = rng.randint(100, 600)
    blocks: list[str] = []
    while sum(len(b) + 2 for b in blocks) < target:
        blocks.append(_block(rng))
    while len(blocks) > 1 and sum(len(b) + 2 for b in blocks) > 600:
        blocks.pop()
    text = "\n\n".join(blocks)
    return text if len(text) <= 600 else text[:600].rsplit(" ", 1)[0] + "."


def tree_shape(rng: random.Random, n: int, top_share: float = 0.3,
               max_depth: int = 6) -> list[int | None]:
    """Parent index per comment: about top_share top-level, replies nested up to max_depth."""
    parents: list[int | None] = []
    depth: list[int] = []
    tops = set(rng.sample(range(1, n), max(0, round(n * top_share) - 1))) | {0}
    for i in range(n):
        open_ = [j for j in range(i) if depth[j] < max_depth]
        if i in tops or not open_:
            parents.append(None)
            depth.append(0)
            continue
        # Conversations happen among recent comments; now and then someone answers an old one.
        recent = open_[-12:]
        parent = rng.choice(recent) if rng.random() < 0.75 else rng.choice(open_)
        parents.append(parent)
        depth.append(depth[parent] + 1)
    return parents


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
        website = (f"https://{author.split()[0].lower()}.example.net/"
                   if author and rng.random() < 0.3 else None)
        text = comment_text(rng)
        when += timedelta(seconds=rng.randint(30, 20 * 60))
        comment = Comment(
            thread=thread, parent_id=comments[parent].id if parent is not None else None,
            author=author, email=email, website=website, text=text, html=render_comment(text),
            status=Status.approved, created=when, remote_addr=anonymise_address(HOST),
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


# --- databases ---------------------------------------------------------------------------------


class Database:
    """A fresh database for one backend, removed afterwards."""

    def __init__(self, backend: str, workdir: Path, postgres_url: str):
        self.backend, self.workdir, self.postgres_url = backend, workdir, postgres_url
        self.name: str | None = None

    def create(self) -> str:
        if self.backend == "sqlite":
            return f"sqlite:///{self.workdir / 'bench.sqlite3'}"
        import sqlalchemy as sa
        from sqlalchemy.engine import make_url

        self.name = f"commentsvc_bench_{secrets.token_hex(4)}"
        admin = sa.create_engine(self.postgres_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{self.name}"'))
        admin.dispose()
        return make_url(self.postgres_url).set(database=self.name).render_as_string(
            hide_password=False)

    def drop(self) -> None:
        if self.name is None:
            return
        import sqlalchemy as sa

        admin = sa.create_engine(self.postgres_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        admin.dispose()
        self.name = None


# --- servers -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    port: int
    log: Path

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"

    def pids(self) -> list[int]:
        """The gunicorn master and its workers."""
        master = self.process.pid
        try:
            children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        except OSError:
            children = []
        return [master, *map(int, children)]

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


def start_gunicorn(name: str, app_spec: str, chdir: Path, env: dict[str, str], workdir: Path,
                   ready_path: str) -> Server:
    """The same gunicorn settings for the app and the floor: 2 sync workers, default backlog."""
    port = free_port()
    log = workdir / f"{name}.log"
    cmd = [str(BIN / "gunicorn"), "--workers", "2", "--worker-class", "sync",
           "--bind", f"{HOST}:{port}", "--chdir", str(chdir), "--log-level", "warning", app_spec]
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    server = Server(name, process, port, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited early:\n{log.read_text()[-2000:]}")
        with contextlib.suppress(OSError):
            if fetch(server.url(ready_path))[0] == 200 and len(server.pids()) == 3:
                return server
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"{name} was not ready within 30 s:\n{log.read_text()[-2000:]}")


def fetch(url: str, body: bytes | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    assert urllib.parse.urlsplit(url).hostname == HOST
    request = urllib.request.Request(url, data=body, headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  (own server)
        return response.status, response.read(), dict(response.headers)


# --- memory ------------------------------------------------------------------------------------


def _proc_kib(path: str, key: str) -> int:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class MemoryPeak:
    """Samples the summed RSS (and PSS) of a gunicorn master and its workers while load runs."""

    def __init__(self, server: Server, interval: float = 0.25):
        self.server, self.interval = server, interval
        self.rss_kib = self.pss_kib = 0
        self.parts_kib: list[int] = []  # master first, at the peak of the sum
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            pids = self.server.pids()
            parts = [_proc_kib(f"/proc/{p}/status", "VmRSS") for p in pids]
            pss = sum(_proc_kib(f"/proc/{p}/smaps_rollup", "Pss") for p in pids)
            if sum(parts) > self.rss_kib:
                self.rss_kib, self.parts_kib = sum(parts), parts
            self.pss_kib = max(self.pss_kib, pss)

    def __enter__(self) -> MemoryPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


# --- wrk ---------------------------------------------------------------------------------------

UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


@dataclass
class Pass:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: dict[str, int] = field(default_factory=dict)


def parse_wrk(output: str) -> Pass:
    """Requests/s, p50 and p99 latency, and every error wrk counted."""
    latency = {int(m[1]): float(m[2]) * UNITS_MS[m[3]] for m in re.finditer(
        r"^\s*(\d+)%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.M)}
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    total = re.search(r"^\s*(\d+) requests in", output, re.M)
    if not (rps and total and 50 in latency and 99 in latency):
        raise RuntimeError(f"unreadable wrk output:\n{output}")
    errors = {}
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket_errors:
        errors = dict(zip(("connect", "read", "write", "timeout"),
                          map(int, socket_errors.groups()), strict=True))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        errors["non-2xx"] = int(non_2xx[1])
    return Pass(float(rps[1]), latency[50], latency[99], int(total[1]),
                {k: v for k, v in errors.items() if v})


def run_wrk(url: str, duration: float, script: Path | None, connections: int) -> Pass:
    assert urllib.parse.urlsplit(url).hostname == HOST
    cmd = [WRK, "-t1", f"-c{connections}", f"-d{duration:g}s", "--latency", "--timeout", "30s"]
    if script is not None:
        cmd += ["-s", str(script)]
    done = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=duration + 60,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


def post_script(workdir: Path, body: str) -> Path:
    path = workdir / f"post-{secrets.token_hex(3)}.lua"
    assert "]==]" not in body
    path.write_text('wrk.method = "POST"\n'
                    'wrk.headers["Content-Type"] = "application/json"\n'
                    f"wrk.body = [==[{body}]==]\n")
    return path


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
    Work("read a thread, 100 comments (nested)", thread_path(MEDIUM_URI), 0.5, 0.0072,
         expect=100),
    Work("read a thread, 1,000 comments", thread_path(BIG_URI), 0.1, 0.0009, expect=1000),
    Work("counts for 1 URI (GET)", "/api/counts?" + urllib.parse.urlencode({"uri": BIG_URI}),
         0.8, 0.38),
    Work("counts for 50 URIs (GET)",
         "/api/counts?" + urllib.parse.urlencode([("uri", u) for u in COUNT_URIS]), 0.8, 0.38),
    Work("counts for 50 URIs (POST JSON)", "/api/counts", 0.8, 0.38, body=COUNTS_BODY),
]


def _count_nodes(nodes: list[dict]) -> int:
    return sum(1 + _count_nodes(n["replies"]) for n in nodes)


def check_response(server: Server, work: Work) -> None:
    """Before loading an endpoint, prove it answers what the row claims to measure."""
    body = work.body.encode() if work.body else None
    headers = {"Content-Type": "application/json"} if body else {}
    status, raw, _ = fetch(server.url(work.path), body, headers)
    data = json.loads(raw)
    if status != 200:
        raise RuntimeError(f"{work}: HTTP {status}")
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


def app_env(database_url: str, workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTSVC_")}
    env.update({
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        "COMMENTSVC_DATABASE_URL": database_url,
        "COMMENTSVC_INSTANCE_PATH": str(workdir / "instance"),
        "COMMENTSVC_SECRET_KEY": SECRET_KEY,
        "COMMENTSVC_RATELIMIT_ENABLED": "false",
        "COMMENTSVC_MIN_SUBMIT_SECONDS": "0",
        "COMMENTSVC_MODERATION": "none",
    })
    return env


def prepare(database_url: str, workdir: Path, report: Report) -> dict[str, str]:
    env = app_env(database_url, workdir)
    done = subprocess.run([str(BIN / "commentsvc"), "db", "upgrade"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"commentsvc db upgrade failed:\n{done.stderr[-3000:]}")
    started = time.monotonic()
    stats = seed(env)
    report.seed_note = (f"{stats['comments']} comments in {len(SEEDED)} threads + 1 empty uri, "
                        f"replies up to depth {stats['max_depth']}, "
                        f"seeded in {time.monotonic() - started:.1f} s")
    print(f"  {report.seed_note}", flush=True)
    return env


def measure(app: Server, floor: Server, args: argparse.Namespace, workdir: Path,
            report: Report) -> None:
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
                floor_passes.append(run_wrk(floor.url("/ok"), args.duration / args.rounds,
                                            floor_post if work.body else None, args.connections))
            with MemoryPeak(app) as memory:
                app_passes.append(run_wrk(app.url(work.path), args.duration / args.rounds,
                                          script, args.connections))
            if memory.rss_kib > report.rss_kib:
                report.rss_kib, report.rss_parts_kib = memory.rss_kib, memory.parts_kib
            report.pss_kib = max(report.pss_kib, memory.pss_kib)
            report.floor_rss_kib = max(report.floor_rss_kib, floor_memory.rss_kib)
        row = Row(work, combine(app_passes), combine(floor_passes))
        report.rows.append(row)
        print(f"  {work.label:<38} {row.app.rps:9.1f} req/s   floor {row.floor.rps:9.1f}",
              flush=True)
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
    return (len(gzip.compress("".join(html).encode(), compresslevel=9)),
            len(gzip.compress(rest, compresslevel=9)))


def combine(passes: list[Pass]) -> Pass:
    """Passes of equal length as one: mean req/s, median p50, worst p99, errors added up."""
    errors: dict[str, int] = {}
    for one in passes:
        for key, n in one.errors.items():
            errors[key] = errors.get(key, 0) + n
    return Pass(statistics.fmean(p.rps for p in passes),
                statistics.median(p.p50_ms for p in passes), max(p.p99_ms for p in passes),
                sum(p.requests for p in passes), errors)


def run_backend(backend: str, args: argparse.Namespace) -> Report:
    report = Report(backend)
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix=f"commentsvc-bench-{backend}-"))
    database = Database(backend, workdir, args.postgres_url)
    servers: list[Server] = []
    try:
        env = prepare(database.create(), workdir, report)
        servers.append(start_gunicorn("app", "wsgi:app", REPO, env, workdir, "/healthz"))
        servers.append(start_gunicorn("floor", "floor_app:app", REPO / "bench", env, workdir,
                                      "/ok"))
        measure(servers[0], servers[1], args, workdir, report)
    finally:
        for server in servers:
            server.stop()
        database.drop()
        shutil.rmtree(workdir, ignore_errors=True)
    report.seconds = time.monotonic() - started
    return report


# --- output ------------------------------------------------------------------------------------


def _ms(value: float) -> str:
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _ratio(value: float) -> str:
    return f"{value:.2f}" if value >= 0.1 else f"{value:.3f}" if value >= 0.01 else f"{value:.4f}"


def table_lines(report: Report) -> list[tuple[str, ...]]:
    lines = [("work", "req/s", "p50 ms", "p99 ms", "floor req/s", "ratio to floor",
              "target ratio", "met", "Isso ratio")]
    for row in report.rows:
        lines.append((
            row.work.label, f"{row.app.rps:,.0f}", _ms(row.app.p50_ms), _ms(row.app.p99_ms),
            f"{row.floor.rps:,.0f}", _ratio(row.ratio), f">= {row.work.target:g}",
            "yes" if row.ratio >= row.work.target else "NO", _ratio(row.work.isso),
        ))
    for method, posts in (("GET", False), ("POST", True)):
        floors = [row.floor for row in report.rows if bool(row.work.body) == posts]
        if floors:
            floor = combine(floors)
            lines.append((f"floor {method} /ok, all its passes", f"{floor.rps:,.0f}",
                          _ms(floor.p50_ms), _ms(floor.p99_ms), f"{floor.rps:,.0f}", "1",
                          "", "", ""))
    return lines


def print_report(report: Report, args: argparse.Namespace) -> None:
    lines = table_lines(report)
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    rounds = f" x{args.rounds} rounds" if args.rounds > 1 else ""
    print(f"\n== {report.backend}: gunicorn 2 sync workers; wrk -t1 -c{args.connections} "
          f"--latency, {args.duration:g} s per row{rounds}; a floor pass right before each app "
          "pass ==")
    print(f"data: {report.seed_note}")
    for n, line in enumerate(lines):
        print("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                        for i, (cell, w) in enumerate(zip(line, widths, strict=True))))
        if n == 0 or n == len(report.rows):
            print("  ".join("-" * w for w in widths))
    print("post a comment (JSON): not measured here (a read benchmark)")
    for row in report.rows:
        for name, result in (("app", row.app), ("floor", row.floor)):
            if result.errors:
                print(f"WARNING {row.work.label}, {name}: wrk counted {result.errors} "
                      f"of {result.requests} requests")
    rss, pss = report.rss_kib / 1024, report.pss_kib / 1024
    parts = " + ".join(f"{kib / 1024:.0f}" for kib in report.rss_parts_kib)
    print(f"memory under load, master + 2 workers: peak RSS sum {rss:.0f} MiB ({parts}; "
          f"PSS sum {pss:.0f} MiB); target <= {TARGET_MIB} MiB "
          f"{'met' if rss <= TARGET_MIB else 'NOT met'}; Isso {ISSO_MIB}; "
          f"floor app {report.floor_rss_kib / 1024:.0f} MiB")
    print(f"thread response, 100 comments: {report.raw_100:,} B raw, {report.gzip_100:,} B "
          f"gzip -9 (Isso {ISSO_GZIP_100:,} B, other texts); of it, compressed apart: the "
          f"comments' HTML {report.gzip_100_html:,} B, all else {report.gzip_100_rest:,} B; "
          f"served with Content-Encoding: {report.served_encoding}")
    print(f"backend run took {report.seconds:.0f} s")


def describe_machine() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                              check=False).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD")
    if commit and git("status", "--porcelain", "--", "commentsvc",
                      "migrations", "wsgi.py"):
        commit += " + uncommitted changes"
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return (f"commentsvc {commit or '?'}; Python {platform.python_version()}; "
            f"{os.cpu_count()} CPUs, load average {load} (shared machine: absolute figures are "
            f"noisy, compare the ratios)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk pass")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=1,
                        help="split each row's time into this many floor/app pass pairs")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL,
                        help="server on which a throw-away database is created (and dropped)")
    args = parser.parse_args(argv)
    if min(args.duration, args.connections, args.rounds) <= 0:
        parser.error("--duration, --connections and --rounds must be positive")
    return args


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not os.access(WRK, os.X_OK):
        print(f"{WRK} is missing: apt-get install -y wrk", file=sys.stderr)
        return 2
    # Stop the servers on kill as on Ctrl-C, even when started in the background (SIGINT ignored).
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
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
