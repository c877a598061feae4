"""The service in real processes: gunicorn (or `commentsvc run`) on a free port, in a process
group of its own, stopped by the caller's `with` block also when the test fails."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.support.env import BIN, REPO
from tests.support.http import request
from tests.support.need import HOST, free_port

LOAD_SETTINGS = {  # what a load test needs: every post accepted and approved at once
    "RATELIMIT_ENABLED": "false",
    "MIN_SUBMIT_SECONDS": "0",
    "MODERATION": "none",
}


class Server:
    """A gunicorn master and its sync workers in their own process group, on a free port (or on
    `port`). With cli=True it is started as an operator does, by `commentsvc run` (that of
    another installation when `commentsvc` names its script)."""

    def __init__(
        self,
        env: dict[str, str],
        log: Path,
        *,
        workers: int = 2,
        app: str = "wsgi:app",
        chdir: Path = REPO,
        ready_path: str = "/healthz",
        port: int = 0,
        cli: bool = False,
        commentsvc: Path = BIN / "commentsvc",
    ):
        self.env, self.log, self.workers = env, log, workers
        self.app, self.chdir, self.ready_path = app, chdir, ready_path
        self.fixed_port, self.cli, self.commentsvc = port, cli, commentsvc
        # `commentsvc run` is stopped as a service manager stops it: SIGTERM, requests in flight
        # finish. A bare gunicorn gets its quick shutdown (SIGINT).
        self.stop_signal = signal.SIGTERM if cli else signal.SIGINT
        self.port = port
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def start(self, timeout: float = 60) -> None:
        """Start on a new free port and return once the ready path answers and every worker is
        up."""
        self.launch()
        self.wait_ready(timeout)

    def command(self) -> list[str]:
        if self.cli:
            return [
                str(self.commentsvc),
                "run",
                "--host",
                HOST,
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
            ]
        return [
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

    def launch(self) -> None:
        """Start without waiting: several servers may boot side by side."""
        self.port = self.fixed_port or free_port()
        with self.log.open("ab") as out:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.chdir,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                code = None if self.process is None else self.process.returncode
                self.stop()
                raise RuntimeError(f"the server exited at start ({code}):\n{self.log_tail()}")
            if len(self.worker_pids()) == self.workers and self._ready():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the server was not ready within {timeout:g} s:\n{self.log_tail()}")

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
        """Shut the master and its workers down (stop_signal); SIGKILL after 10 s."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, self.stop_signal)
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
