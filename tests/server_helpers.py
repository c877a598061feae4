"""Real servers for tests: the service under gunicorn on a free port, a client, fresh databases.

Everything here talks to 127.0.0.1 only, and every process it starts is stopped by the caller's
`with` block, also when the test fails.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from commentsvc.tokens import issue_form_token
from tests.conftest import need

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
SECRET_KEY = "server-test-secret-" + "s" * 32
LOAD_SETTINGS = {  # what a load test needs: every post accepted and approved at once
    "RATELIMIT_ENABLED": "false",
    "MIN_SUBMIT_SECONDS": "0",
    "MODERATION": "none",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def service_env(database_url: str, instance: Path, **settings: Any) -> dict[str, str]:
    """The environment of a service process: this tree's code, the given COMMENTSVC_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTSVC_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(
        {
            "COMMENTSVC_DATABASE_URL": database_url,
            "COMMENTSVC_INSTANCE_PATH": str(instance),
            "COMMENTSVC_SECRET_KEY": SECRET_KEY,
        }
    )
    for key, value in settings.items():
        env[f"COMMENTSVC_{key.upper()}"] = (
            str(value).lower() if isinstance(value, bool) else str(value)
        )
    return env


def migrate(database_url: str, instance: Path) -> None:
    """`commentsvc db upgrade` on the database, as an operator runs it."""
    env = service_env(database_url, instance)
    done = subprocess.run(
        [str(BIN / "commentsvc"), "db", "upgrade"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"commentsvc db upgrade failed:\n{done.stdout}\n{done.stderr}")


# --- databases ---------------------------------------------------------------------------------


def postgres_problem(base_url: str | None) -> str | None:
    """Why no PostgreSQL database can be made from base_url, or None when one can."""
    if not base_url:
        return "COMMENTSVC_TEST_DATABASE_URL is not set (PostgreSQL tests)"
    engine = sa.create_engine(base_url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        return f"PostgreSQL is not reachable at {make_url(base_url).host}: {exc.orig}"
    finally:
        engine.dispose()
    return None


@contextlib.contextmanager
def fresh_postgres(
    base_url: str, prefix: str = "commentsvc_test", template: str | None = None
) -> Iterator[str]:
    """A new database on base_url's server (empty, or a copy of template), dropped on exit."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            copy = f' TEMPLATE "{template}"' if template else ""
            conn.execute(sa.text(f'CREATE DATABASE "{name}"{copy}'))
        try:
            yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _drop_postgres(base_url: str, name: str) -> None:
    admin = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


_TEMPLATES: dict[str, str] = {}  # one migrated database per backend and run, to copy from


@contextlib.contextmanager
def migrated_database(backend: str, workdir: Path, postgres_base: str = "") -> Iterator[str]:
    """An empty database of its own at the current schema: a copy of one that `commentsvc db
    upgrade` made once per run (the upgrade takes seconds, a copy milliseconds)."""
    if backend == "sqlite":
        if "sqlite" not in _TEMPLATES:
            folder = Path(tempfile.mkdtemp(prefix="commentsvc-template-"))
            atexit.register(shutil.rmtree, folder, True)
            migrate(f"sqlite:///{folder / 'template.sqlite3'}", folder)
            _TEMPLATES["sqlite"] = str(folder / "template.sqlite3")
        path = workdir / "comments.sqlite3"
        source, target = sqlite3.connect(_TEMPLATES["sqlite"]), sqlite3.connect(path)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        yield f"sqlite:///{path}"
        return
    key = f"postgresql {postgres_base}"
    if key not in _TEMPLATES:
        name = f"commentsvc_test_template_{secrets.token_hex(6)}"
        admin = sa.create_engine(postgres_base, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        atexit.register(_drop_postgres, postgres_base, name)
        migrate(
            make_url(postgres_base).set(database=name).render_as_string(hide_password=False),
            workdir,
        )
        _TEMPLATES[key] = name
    with fresh_postgres(postgres_base, template=_TEMPLATES[key]) as url:
        yield url


@dataclass(frozen=True)
class StoredComment:
    id: int
    uri: str
    text: str
    parent_id: int | None
    status: str


def stored_comments(database_url: str) -> dict[int, StoredComment]:
    """Every comment in the database, read directly, not through the service."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT c.id, t.uri, c.text, c.parent_id, c.status "
                    "FROM comments c JOIN threads t ON t.id = c.thread_id"
                )
            ).all()
    finally:
        engine.dispose()
    return {row.id: StoredComment(*row) for row in rows}


# --- the service -------------------------------------------------------------------------------


class Server:
    """A gunicorn master and its sync workers in their own process group, on a free port."""

    def __init__(
        self,
        env: dict[str, str],
        log: Path,
        *,
        workers: int = 2,
        app: str = "wsgi:app",
        chdir: Path = REPO,
        ready_path: str = "/healthz",
    ):
        self.env, self.log, self.workers = env, log, workers
        self.app, self.chdir, self.ready_path = app, chdir, ready_path
        self.port = 0
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"

    def start(self, timeout: float = 30) -> None:
        """Start on a new free port and return once /healthz answers and every worker is up."""
        self.launch()
        self.wait_ready(timeout)

    def launch(self) -> None:
        """Start on a new free port without waiting: several servers may boot side by side."""
        self.port = free_port()
        cmd = [
            str(BIN / "gunicorn"),
            "--workers",
            str(self.workers),
            "--worker-class",
            "sync",
            "--bind",
            f"{HOST}:{self.port}",
            "--chdir",
            str(self.chdir),
            "--graceful-timeout",
            "5",
            "--log-level",
            "warning",
            self.app,
        ]
        with self.log.open("ab") as out:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                cmd,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"gunicorn exited at start:\n{self.log_tail()}")
            if len(self.worker_pids()) == self.workers and self._ready():
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn was not ready within {timeout:g} s:\n{self.log_tail()}")

    def _ready(self) -> bool:
        try:
            return request(self.port, "GET", self.ready_path, timeout=5).status == 200
        except OSError:
            return False

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        pid = self.process.pid
        try:
            return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            return []

    def stop(self) -> None:
        """Quick shutdown (SIGINT) of the master and its workers; SIGKILL after 10 s."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)
        self.kill()

    def kill(self) -> None:
        """SIGKILL the master and its workers at once, as a crash or the OOM killer would."""
        if self.process is None:
            return
        workers = self.worker_pids()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None
        deadline = time.monotonic() + 10
        while workers and time.monotonic() < deadline:  # orphans: reaped by init, not by us
            workers = [pid for pid in workers if _alive(pid)]
            time.sleep(0.02)

    def log_tail(self, size: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-size:]
        except OSError:
            return ""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


# --- a client ----------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class Client:
    """One HTTP/1.1 connection to a local server, reopened by http.client when the server closes
    it (gunicorn's sync workers close after every response). Close it when done."""

    def __init__(self, port: int, timeout: float = 30):
        self.connection = http.client.HTTPConnection(HOST, port, timeout=timeout)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self.connection.close()

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Response:
        self.send(method, path, body, headers)
        return self.receive()

    def send(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        """Write a request (body as JSON); receive() reads its answer."""
        headers = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            self.connection.request(method, path, data, headers)
        except BaseException:
            self.connection.close()  # never reuse a connection left mid-request
            raise

    def receive(self) -> Response:
        try:
            response = self.connection.getresponse()
            return Response(response.status, dict(response.getheaders()), response.read())
        except BaseException:
            self.connection.close()
            raise

    def thread(self, uri: str, **params: Any) -> dict[str, Any]:
        query = urllib.parse.urlencode({"uri": uri, **params})
        response = self.request("GET", f"/api/threads?{query}")
        assert response.status == 200, (response.status, response.body[:500])
        return response.json()

    def form_token(self, uri: str) -> str:
        query = urllib.parse.urlencode({"uri": uri})
        response = self.request("GET", f"/api/form-token?{query}")
        assert response.status == 200, (response.status, response.body[:500])
        return response.json()["form_token"]

    def counts(self, uris: list[str]) -> dict[str, int]:
        query = urllib.parse.urlencode([("uri", uri) for uri in uris])
        response = self.request("GET", f"/api/counts?{query}")
        assert response.status == 200, (response.status, response.body[:500])
        return response.json()["counts"]

    def post_comment(
        self, uri: str, text: str, form_token: str | None = None, **fields: Any
    ) -> Response:
        """Post a comment; without a form token, one is made for this post (each works once)."""
        return self.request("POST", "/api/comments", comment_body(uri, text, form_token, **fields))


def comment_body(
    uri: str, text: str, form_token: str | None = None, **fields: Any
) -> dict[str, Any]:
    """A new comment's JSON; without a form token, one is made for it (each works once)."""
    if form_token is None:
        form_token = issue_form_token(SECRET_KEY, "default", uri)
    return {"uri": uri, "text": text, "form_token": form_token, **fields}


def request(
    port: int,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> Response:
    """One request on a connection of its own."""
    with Client(port, timeout) as client:
        return client.request(method, path, body, headers)


def tree_ids(comments: list[dict[str, Any]]) -> list[int]:
    """The ids of every node of a thread tree, replies included."""
    ids, pending = [], list(comments)
    while pending:
        node = pending.pop()
        ids.append(node["id"])
        pending.extend(node["replies"])
    return ids


@pytest.fixture(params=["sqlite", "postgresql"], name="database_url")
def fresh_database(request, tmp_path):
    """A migrated, empty database of each backend, its own for this test (for tests that run
    servers on it: they cannot share the suite's database, which other tests empty)."""
    base = ""
    if request.param == "postgresql":
        base = os.environ.get("COMMENTSVC_TEST_DATABASE_URL", "")
        problem = postgres_problem(base)
        need(problem is None, problem or "")
    with migrated_database(request.param, tmp_path, base) as url:
        yield url
