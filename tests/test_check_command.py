"""`commentsvc check`: one line per check, ok or the problem with its fix; exit 0 or 1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.databases import migrate
from tests.support.env import service_env
from tests.support.need import free_port
from tests.support.smtp import MailServer

SCRIPT = Path(sys.executable).parent / "commentsvc"


def database(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'db.sqlite3'}"


def check(tmp_path: Path, **settings: str) -> subprocess.CompletedProcess:
    env = service_env(database(tmp_path), tmp_path, smtp_starttls=False, smtp_timeout=3, **settings)
    return subprocess.run(
        [str(SCRIPT), "check"],
        env=env,
        cwd=tmp_path,
        capture_output=True,  # noqa: S603
        text=True,
        timeout=60,
        check=False,
    )


def upgrade(tmp_path: Path) -> None:
    migrate(database(tmp_path), tmp_path)


def test_a_ready_installation_passes_every_check(tmp_path):
    upgrade(tmp_path)
    server = MailServer().start()
    try:
        result = check(
            tmp_path,
            redis_url="redis://127.0.0.1:6379/15",
            smtp_host="127.0.0.1",
            smtp_port=str(server.port),
            allowed_origins="https://blog.example",
        )
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "settings: ok",
        "database schema: ok",
        "redis: ok",
        "mail server: ok",
    ]


def test_each_problem_is_one_line_with_its_fix(tmp_path):
    result = check(
        tmp_path,
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        smtp_host="127.0.0.1",
        smtp_port=str(free_port()),
    )
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "settings: ok",
        "database schema: the database is empty: create its tables with `commentsvc db upgrade`",
        "redis: not reachable (ConnectionError); check COMMENTSVC_REDIS_URL and that Redis runs",
        "mail server: not reachable (ConnectionRefusedError); check COMMENTSVC_SMTP_HOST, "
        "_PORT, _STARTTLS and the login",
        "allowed origins: none: no blog can show comments; set COMMENTSVC_ALLOWED_ORIGINS to "
        "your blog's origin",
    ]
    assert "Traceback" not in result.stderr
