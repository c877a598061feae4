"""Pieces the load benchmarks share: servers under gunicorn, wrk passes, memory, seed texts.

Everything here talks to 127.0.0.1 only. Imported by the scripts next to it (their folder is
first on sys.path when they run), never by the service.
"""

from __future__ import annotations

import contextlib
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
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WRK = "/usr/bin/wrk"
HOST = "127.0.0.1"  # every byte of load goes to this machine only
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SECRET_KEY = "bench-secret-" + "k" * 40


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
    "Ada",
    "Grace H.",
    "Linus",
    "Margaret",
    "ken_t",
    "Barbara L.",
    "dmr",
    "Radia",
    "Frances",
    "Hedy",
    "Alan",
    "Edsger",
    "Donald K.",
    "Tim B-L",
    "Sophie W.",
    "Katherine",
    "Mary Ann",
    "jo",
    "Ines",
    "Mateo",
    "Yuki",
    "Amara",
    "Priya S.",
    "Olu",
    "Chen Wei",
    "Zoë",
    "Björn",
    "Lucía",
    "Noor",
    "Tomás",
    "Aiko",
    "Kwame",
    "Elif",
    "Sven",
    "Ana P.",
    "Rafael",
    "Leila",
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
        return (
            "```\n"
            + "\n".join(f"{rng.choice(WORDS)} = {rng.randint(0, 99)}" for _ in range(3))
            + "\n```"
        )
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


def tree_shape(
    rng: random.Random, n: int, top_share: float = 0.3, max_depth: int = 6
) -> list[int | None]:
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
        return (
            make_url(self.postgres_url)
            .set(database=self.name)
            .render_as_string(hide_password=False)
        )

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


def tool(name: str) -> str:
    """A command of this virtualenv (where the running Python is), else from PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name) or name


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


def start_gunicorn(
    name: str,
    app_spec: str,
    chdir: Path,
    env: dict[str, str],
    workdir: Path,
    ready_path: str,
    gunicorn: Path | None = None,
) -> Server:
    """The same gunicorn settings for every server: 2 sync workers, default backlog.

    `gunicorn` is the executable of the virtualenv that holds the app (this one by default).
    """
    port = free_port()
    log = workdir / f"{name}.log"
    cmd = [
        str(gunicorn or BIN / "gunicorn"),
        "--workers",
        "2",
        "--worker-class",
        "sync",
        "--bind",
        f"{HOST}:{port}",
        "--chdir",
        str(chdir),
        "--log-level",
        "warning",
        app_spec,
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            cmd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
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


def fetch(
    url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes, dict[str, str]]:
    """One request; any HTTP status comes back as it is (a 304 or a 400 is not an exception)."""
    assert urllib.parse.urlsplit(url).hostname == HOST
    request = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310  (own server)
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read(), dict(error.headers)


def cpu_ticks(server: Server) -> int:
    """User + system clock ticks the server's processes have used so far."""
    total = 0
    for pid in server.pids():
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total


def settle(server: Server, quiet: float = 0.3, limit: float = 60.0) -> float:
    """Wait until the server stops using CPU; returns the seconds waited.

    When wrk stops, requests it already sent still sit in the listen queue, and a sync worker
    answers each of them to a closed socket. Without this wait, a slow server's leftovers
    would run during the next server's pass.
    """
    started = time.monotonic()
    before = cpu_ticks(server)
    while time.monotonic() - started < limit:
        time.sleep(quiet)
        now = cpu_ticks(server)
        if now - before <= 1:  # a tick is 10 ms: at most a few percent of one core
            break
        before = now
    return time.monotonic() - started


# --- memory ------------------------------------------------------------------------------------


def _proc_kib(path: str, key: str) -> int:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Memory:
    """RSS per process (master first) and the PSS sum of a gunicorn master and its workers."""

    rss_parts_kib: list[int] = field(default_factory=list)
    pss_kib: int = 0

    @property
    def rss_kib(self) -> int:
        return sum(self.rss_parts_kib)


def memory_now(server: Server) -> Memory:
    """RSS from /proc/<pid>/status, PSS (shared pages counted once) from smaps_rollup."""
    pids = server.pids()
    return Memory(
        [_proc_kib(f"/proc/{p}/status", "VmRSS") for p in pids],
        sum(_proc_kib(f"/proc/{p}/smaps_rollup", "Pss") for p in pids),
    )


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
            now = memory_now(self.server)
            if now.rss_kib > self.rss_kib:
                self.rss_kib, self.parts_kib = now.rss_kib, now.rss_parts_kib
            self.pss_kib = max(self.pss_kib, now.pss_kib)

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
    output: str = ""  # wrk's own report, for what a script's done() prints


def parse_wrk(output: str) -> Pass:
    """Requests/s, p50 and p99 latency, and every error wrk counted."""
    latency = {
        int(m[1]): float(m[2]) * UNITS_MS[m[3]]
        for m in re.finditer(r"^\s*(\d+)%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.M)
    }
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    total = re.search(r"^\s*(\d+) requests in", output, re.M)
    if not (rps and total and 50 in latency and 99 in latency):
        raise RuntimeError(f"unreadable wrk output:\n{output}")
    errors = {}
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if socket_errors:
        errors = dict(
            zip(
                ("connect", "read", "write", "timeout"),
                map(int, socket_errors.groups()),
                strict=True,
            )
        )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        errors["non-2xx"] = int(non_2xx[1])
    return Pass(
        float(rps[1]),
        latency[50],
        latency[99],
        int(total[1]),
        {k: v for k, v in errors.items() if v},
        output,
    )


def run_wrk(
    url: str,
    duration: float,
    script: Path | None,
    connections: int,
    headers: dict[str, str] | None = None,
) -> Pass:
    """One pass of `wrk -t1 -cN --latency`; requests slower than 30 s count as timeouts."""
    assert urllib.parse.urlsplit(url).hostname == HOST
    cmd = [WRK, "-t1", f"-c{connections}", f"-d{duration:g}s", "--latency", "--timeout", "30s"]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    if script is not None:
        cmd += ["-s", str(script)]
    done = subprocess.run(
        cmd + [url], capture_output=True, text=True, timeout=duration + 60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


def post_script(workdir: Path, body: str) -> Path:
    """A wrk script that sends the same JSON body with every request."""
    path = workdir / f"post-{secrets.token_hex(3)}.lua"
    assert "]==]" not in body
    path.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = [==[{body}]==]\n"
    )
    return path


def combine(passes: list[Pass]) -> Pass:
    """Passes of equal length as one: mean req/s, median p50, worst p99, errors added up."""
    errors: dict[str, int] = {}
    for one in passes:
        for key, n in one.errors.items():
            errors[key] = errors.get(key, 0) + n
    return Pass(
        statistics.fmean(p.rps for p in passes),
        statistics.median(p.p50_ms for p in passes),
        max(p.p99_ms for p in passes),
        sum(p.requests for p in passes),
        errors,
    )


# --- the service and the report ----------------------------------------------------------------


def app_env(database_url: str, workdir: Path) -> dict[str, str]:
    """The service's environment: this tree's code, every post accepted and approved at once."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTSVC_")}
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
            "COMMENTSVC_DATABASE_URL": database_url,
            "COMMENTSVC_INSTANCE_PATH": str(workdir / "instance"),
            "COMMENTSVC_SECRET_KEY": SECRET_KEY,
            "COMMENTSVC_RATELIMIT_ENABLED": "false",
            "COMMENTSVC_MIN_SUBMIT_SECONDS": "0",
            "COMMENTSVC_MODERATION": "none",
        }
    )
    return env


def migrate(env: dict[str, str]) -> None:
    """`commentsvc db upgrade` on the environment's database, as an operator runs it."""
    done = subprocess.run(
        [str(BIN / "commentsvc"), "db", "upgrade"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"commentsvc db upgrade failed:\n{done.stderr[-3000:]}")


def fmt_ms(value: float) -> str:
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def fmt_ratio(value: float) -> str:
    return f"{value:.2f}" if value >= 0.1 else f"{value:.3f}" if value >= 0.01 else f"{value:.4f}"


def describe_machine() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=False
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD")
    if commit and git("status", "--porcelain", "--", "commentsvc", "migrations", "wsgi.py"):
        commit += " + uncommitted changes"
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return (
        f"commentsvc {commit or '?'}; Python {platform.python_version()}; "
        f"{os.cpu_count()} CPUs, load average {load} (shared machine: absolute figures are "
        f"noisy, compare the ratios)"
    )


def raise_keyboard_interrupt(signum, frame):
    """SIGTERM handler: stop servers and remove databases as on Ctrl-C."""
    raise KeyboardInterrupt


def ready_for_load() -> bool:
    """Whether wrk is there (says how to get it when not); from now on a kill stops the
    servers as Ctrl-C does, even when started in the background (SIGINT ignored)."""
    if not os.access(WRK, os.X_OK):
        print(f"{WRK} is missing: apt-get install -y wrk", file=sys.stderr)
        return False
    signal.signal(signal.SIGTERM, raise_keyboard_interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    return True


# --- an app in this process ---------------------------------------------------------------------


def migrated_app(database_url: str, secret_key: str, **settings: object):
    """The app on `database_url`, its schema upgraded, for benchmarks that call it in process:
    no bot timing, rate limits, moderation or background mail, unless `settings` say otherwise."""
    from flask_migrate import upgrade

    from commentsvc import create_app
    from commentsvc.extensions import init_migrations

    app = create_app(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": secret_key,
            "MIN_SUBMIT_SECONDS": 0,
            "RATELIMIT_ENABLED": False,
            "MODERATION": "none",
            "MAIL_BACKGROUND": False,
            **settings,
        }
    )
    init_migrations(app)
    with app.app_context():
        upgrade()
    return app
