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
    """`commentsvc check` with these settings; an empty one is left unset (its default)."""
    env = service_env(database(tmp_path), tmp_path, smtp_starttls=False, smtp_timeout=3)
    for key, value in settings.items():
        env[f"COMMENTSVC_{key.upper()}"] = value
        if not value:
            del env[f"COMMENTSVC_{key.upper()}"]
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


def test_a_bad_setting_is_the_settings_line_and_the_other_checks_still_run(tmp_path):
    upgrade(tmp_path)
    result = check(
        tmp_path,
        edit_window="15min",
        redis_url="localhost:6379",
        allowed_origins="https://blog.example",
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "settings: COMMENTSVC_REDIS_URL: the value given is not a URL like "
        "redis://127.0.0.1:6379/0; COMMENTSVC_EDIT_WINDOW: '15min' is not a whole number of "
        "seconds; set each to what is allowed, or unset it for the default",
        "database schema: ok",
        "redis: skipped until COMMENTSVC_REDIS_URL is fixed",
    ]
    assert result.stderr == ""


def test_a_bad_database_url_skips_the_schema_check_and_shows_no_password(tmp_path):
    result = check(tmp_path, database_url="postgres//u:hunter2@db")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "settings: COMMENTSVC_DATABASE_URL: the value given is not a database URL like "
        "postgresql+psycopg://user@host/db or sqlite:////path/file.sqlite3; set each to what "
        "is allowed, or unset it for the default"
    )
    assert lines[1] == "database schema: skipped until COMMENTSVC_DATABASE_URL is fixed"
    assert "hunter2" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_an_unusable_instance_folder_skips_what_needs_it(tmp_path):
    server = MailServer().start()
    try:
        env_change = {
            "database_url": "",  # the default: the SQLite file in the instance folder
            "instance_path": str(tmp_path / "a-file" / "instance"),
            "smtp_host": "127.0.0.1",
            "smtp_port": str(server.port),
        }
        (tmp_path / "a-file").write_text("not a folder")
        result = check(tmp_path, **env_change)
    finally:
        server.stop()
    assert result.returncode == 1
    folder = str(tmp_path / "a-file" / "instance")
    assert result.stdout.splitlines()[:3] == [
        f"settings: COMMENTSVC_INSTANCE_PATH: {folder!r} is not a folder this service can "
        "create and write to (Not a directory); set each to what is allowed, or unset it "
        "for the default",
        "database schema: skipped until COMMENTSVC_INSTANCE_PATH is fixed",
        "mail server: ok",
    ]
    assert "Traceback" not in result.stderr
