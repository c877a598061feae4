"""Memory at rest and after load: `commentsvc run` (gunicorn master + workers) on SQLite.

    .venv/bin/python bench/memory_bench.py [--workers 2] [--load 300] [--clients 8]

Starts the service as `commentsvc run` does, on a fresh SQLite database in a temporary folder,
makes a few requests of each kind a reader makes (thread, counts, post, embed.js, the no-JS
page, a feed) and one admin login page, then prints the RSS and PSS (from
/proc/<pid>/smaps_rollup) of each process and their sum: idle, at the peak of a load run of
`--load` requests of each kind, and idle again after it. Then the modules that take longest to
import in a process loading `wsgi:app` (`python -X importtime`), and which heavy packages are
in sys.modules once the app is made on SQLite without Redis or SMTP.

The code measured is this tree's: it goes first on PYTHONPATH. All traffic goes to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import free_port, tool

REPO = Path(__file__).resolve().parent.parent
# The posts and reads go round these threads (each read of a thread that changed since is
# rendered again, so the load mixes cached and fresh pages).
URIS = [f"/2008/{n:02d}/post-{n}.html" for n in range(1, 21)]
MIB = 1024 * 1024

# Packages a reader's request never needs on SQLite without Redis or SMTP, and a few that it
# does (for scale). Shown as loaded or not after the app is made.
WATCHED = (
    "psycopg",
    "sqlalchemy.dialects.postgresql",
    "redis",
    "alembic",
    "flask_migrate",
    "commentsvc.importers",
    "commentsvc.backup",
    "defusedxml",
    "tqdm",
    "yaml",
    "commentsvc.cli",
    "click",
    "wtforms",
    "flask_wtf.form",
    "flask_login",
    "commentsvc.admin",
    "commentsvc.admin.forms",
    "commentsvc.mail.sender",
    "smtplib",
    "email.mime",
    "babel",
    "bleach",
    "markdown_it",
    "jinja2",
    "sqlalchemy",
    "limits",
)


def service_env(tmp: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTSVC_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(
        {
            "COMMENTSVC_INSTANCE_PATH": str(tmp),
            "COMMENTSVC_DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}",
            "COMMENTSVC_SECRET_KEY": secrets.token_urlsafe(32),
            "COMMENTSVC_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "COMMENTSVC_MIN_SUBMIT_SECONDS": "0",
            "COMMENTSVC_RATELIMIT_ENABLED": "false",
            "COMMENTSVC_MODERATION": "none",
        }
    )
    return env


# --- processes and their memory -------------------------------------------------------------


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def memory(pid: int) -> dict[str, int]:
    """RSS and PSS of one process, in bytes (PSS splits each shared page among its sharers)."""
    figures = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == "kB":
            figures[parts[0].rstrip(":")] = int(parts[1]) * 1024
    return {
        "rss": figures["Rss"],
        "pss": figures["Pss"],
        "uss": figures["Private_Clean"] + figures["Private_Dirty"],
    }


def snapshot(master: int) -> list[tuple[str, int, dict[str, int]]]:
    rows = [("master", master, memory(master))]
    for n, pid in enumerate(sorted(children(master)), 1):
        try:
            rows.append((f"worker {n}", pid, memory(pid)))
        except OSError:  # a worker replaced at this moment
            continue
    return rows


def print_table(title: str, rows: list[tuple[str, int, dict[str, int]]]) -> None:
    print(f"\n{title}")
    print(f"  {'process':<10}{'pid':>8}{'RSS MiB':>10}{'PSS MiB':>10}{'USS MiB':>10}")
    for name, pid, m in rows:
        print(
            f"  {name:<10}{pid:>8}{m['rss'] / MIB:>10.1f}{m['pss'] / MIB:>10.1f}"
            f"{m['uss'] / MIB:>10.1f}"
        )
    total = {k: sum(m[k] for _, _, m in rows) for k in ("rss", "pss", "uss")}
    print(
        f"  {'total':<18}{total['rss'] / MIB:>10.1f}{total['pss'] / MIB:>10.1f}"
        f"{total['uss'] / MIB:>10.1f}"
    )


class PeakSampler(threading.Thread):
    """The largest RSS and PSS sums of the master and its workers, sampled every 0.25 s."""

    def __init__(self, master: int):
        super().__init__(daemon=True)
        self.master, self.stop = master, threading.Event()
        self.peak: list[tuple[str, int, dict[str, int]]] = []

    def run(self) -> None:
        best = -1
        while not self.stop.wait(0.25):
            try:
                rows = snapshot(self.master)
            except OSError:
                continue
            rss = sum(m["rss"] for _, _, m in rows)
            if rss > best:
                best, self.peak = rss, rows


# --- the service --------------------------------------------------------------------------------


def start_service(env: dict[str, str], port: int, workers: int, log: Path) -> subprocess.Popen:
    migrated = subprocess.run(
        [tool("commentsvc"), "db", "upgrade"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if migrated.returncode != 0:
        raise SystemExit(f"commentsvc db upgrade failed:\n{migrated.stderr}")
    process = subprocess.Popen(
        [
            tool("commentsvc"),
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        cwd=REPO,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the service stopped:\n{log.read_text()}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).close()
            if len(children(process.pid)) >= workers:
                return process
        except OSError:
            pass
        time.sleep(0.1)
    stop_service(process)
    raise SystemExit("the service did not start")


def stop_service(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# --- requests -----------------------------------------------------------------------------------


class Client:
    def __init__(self, base: str):
        self.base = base
        self.calls = 0
        self.lock = threading.Lock()

    def _next(self) -> tuple[int, str]:
        with self.lock:
            self.calls += 1
            return self.calls, URIS[self.calls % len(URIS)]

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.base + path, timeout=60) as response:
            return response.read()

    def post_json(self, path: str, body: dict) -> bytes:
        request = urllib.request.Request(
            self.base + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.read()

    def thread(self) -> None:
        self.get(f"/api/threads?uri={urllib.parse.quote(self._next()[1])}")

    def counts(self) -> None:
        self.get("/api/counts?" + urllib.parse.urlencode([("uri", uri) for uri in URIS]))

    def post(self) -> None:
        n, uri = self._next()
        token = json.loads(self.get(f"/api/form-token?uri={urllib.parse.quote(uri)}"))
        self.post_json(
            "/api/comments",
            {
                "uri": uri,
                "author": f"Reader {n}",
                "form_token": token["form_token"],
                "text": f"Comment {n}: *Markdown* with a [link](https://example.com/{n}), "
                "`code` and a second line.\n\nA second paragraph.",
            },
        )

    def embed(self) -> None:
        self.get("/embed.js")

    def page(self) -> None:
        self.get(f"/comments?uri={urllib.parse.quote(self._next()[1])}")

    def feed(self) -> None:
        self.get(f"/feed/thread.atom?uri={urllib.parse.quote(self._next()[1])}")

    def admin_login(self) -> None:
        self.get("/admin/login")

    def reader_kinds(self):
        return [self.thread, self.counts, self.post, self.embed, self.page, self.feed]


def run_requests(calls: list, clients: int) -> tuple[int, float]:
    started = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(call) for call in calls]:
            future.result()
    return len(calls), time.monotonic() - started


# --- floors -------------------------------------------------------------------------------------

# The least a Flask app with the same database layer takes: floor_app.py's routes, plus
# Flask-SQLAlchemy with an engine on a SQLite file (imports and the dialect, no models).
SQLALCHEMY_FLOOR = """
from flask_sqlalchemy import SQLAlchemy
from floor_app import app

app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///{path}"
SQLAlchemy(app)
"""


def floors(tmp: Path, workers: int) -> None:
    """Idle memory of floor_app.py, and of it with Flask-SQLAlchemy, under the same gunicorn."""
    (tmp / "floor_sqlalchemy.py").write_text(SQLALCHEMY_FLOOR.format(path=tmp / "floor.db"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "bench"), str(tmp)])}
    print(f"\nfloors under the same gunicorn ({workers} sync workers), idle after 5 requests")
    print(f"  {'app':<44}{'RSS MiB':>10}{'PSS MiB':>10}{'USS MiB':>10}")
    for label, target in (
        ("bench/floor_app.py (Flask)", "floor_app:app"),
        ("floor_app.py + Flask-SQLAlchemy on SQLite", "floor_sqlalchemy:app"),
    ):
        port = free_port()
        process = subprocess.Popen(
            [
                tool("gunicorn"),
                "-w",
                str(workers),
                "-b",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                target,
            ],
            cwd=tmp,
            env=env,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while len(children(process.pid)) < workers or not _answers(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the floor {target} did not start")
                time.sleep(0.1)
            for _ in range(5):
                _answers(port)
            time.sleep(1)
            rows = snapshot(process.pid)
        finally:
            stop_service(process)
        total = {k: sum(m[k] for _, _, m in rows) / MIB for k in ("rss", "pss", "uss")}
        print(f"  {label:<44}{total['rss']:>10.1f}{total['pss']:>10.1f}{total['uss']:>10.1f}")


def _answers(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/ok", timeout=1).close()
        return True
    except OSError:
        return False


# --- imports ------------------------------------------------------------------------------------


def import_times(env: dict[str, str], top: int) -> None:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import wsgi"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            rows.append((int(match[1]), int(match[2]), len(match[3]), match[4]))
    whole = next((cum for _, cum, _, name in rows if name == "wsgi"), 0)
    print(f"\nimport of wsgi:app in one process: {whole / 1000:.0f} ms, {len(rows)} modules")
    print(f"  {'own ms':>7}{'with imports ms':>17}  module (top {top} by own time)")
    for own, cum, _, name in sorted(rows, reverse=True)[:top]:
        print(f"  {own / 1000:>7.1f}{cum / 1000:>17.1f}  {name}")


PROBE = """
import json, resource, sys
import wsgi
watched = json.loads(sys.argv[1])
print(json.dumps({
    "loaded": [name for name in watched if name in sys.modules],
    "absent": [name for name in watched if name not in sys.modules],
    "modules": len(sys.modules),
    "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
}))
"""


def loaded_modules(env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(WATCHED)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(done.stdout.splitlines()[-1])
    print(
        f"\nafter `import wsgi` (SQLite, no Redis, no SMTP): {found['modules']} modules, "
        f"peak RSS {found['peak_kib'] / 1024:.1f} MiB"
    )
    print("  loaded: " + ", ".join(found["loaded"]))
    print("  absent: " + ", ".join(found["absent"]))


# --- main ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--load", type=int, default=300, help="requests of each kind under load")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients under load")
    parser.add_argument("--top", type=int, default=15, help="modules listed by import time")
    args = parser.parse_args()

    head = subprocess.run(
        ["git", "-C", str(REPO), "log", "-1", "--format=%h %s"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    print(f"commentsvc at {head[:72]}")
    tmp = Path(tempfile.mkdtemp(prefix="commentsvc-memory-"))
    port = free_port()
    env = service_env(tmp, port)
    process = None
    try:
        process = start_service(env, port, args.workers, tmp / "service.log")
        client = Client(f"http://127.0.0.1:{port}")
        # A few requests of each kind, so each worker has likely served each kind once.
        few = [kind for kind in client.reader_kinds() for _ in range(6)] + [client.admin_login]
        run_requests(few, 1)
        time.sleep(2)
        print_table(
            f"idle, after {len(few)} requests ({args.workers} workers, SQLite)",
            snapshot(process.pid),
        )

        sampler = PeakSampler(process.pid)
        sampler.start()
        calls = [kind for _ in range(args.load) for kind in client.reader_kinds()]
        count, seconds = run_requests(calls, args.clients)
        sampler.stop.set()
        sampler.join()
        print_table(
            f"peak under load ({count} requests, {args.clients} clients, "
            f"{count / seconds:.0f} req/s)",
            sampler.peak,
        )
        time.sleep(2)
        print_table("idle, after the load", snapshot(process.pid))
    finally:
        if process is not None:
            stop_service(process)
        shutil.rmtree(tmp, ignore_errors=True)

    probe_env = service_env(Path(tempfile.mkdtemp(prefix="commentsvc-probe-")), port)
    try:
        floors(Path(probe_env["COMMENTSVC_INSTANCE_PATH"]), args.workers)
        import_times(probe_env, args.top)
        loaded_modules(probe_env)
    finally:
        shutil.rmtree(probe_env["COMMENTSVC_INSTANCE_PATH"], ignore_errors=True)


if __name__ == "__main__":
    main()
