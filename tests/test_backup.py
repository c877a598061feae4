"""`commentsvc backup FILE` copies a live SQLite database consistently: a backup taken while
comments keep coming holds every comment acknowledged before it started."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from commentsvc import create_app
from commentsvc.tokens import issue_form_token
from tests.support.databases import upgrade_in_process
from tests.support.env import service_env

from .conftest import SECRET

SCRIPT = Path(sys.executable).parent / "commentsvc"


def _env(database: Path) -> dict[str, str]:
    return service_env(f"sqlite:///{database}", database.parent)


def test_a_backup_under_write_load_holds_every_acknowledged_comment(tmp_path):
    database = tmp_path / "live.sqlite3"
    app = create_app(
        {
            "DATABASE_URL": upgrade_in_process(f"sqlite:///{database}"),
            "SECRET_KEY": SECRET,
            "MIN_SUBMIT_SECONDS": 0,
            "RATELIMIT_ENABLED": False,
            "MODERATION": "none",
            "MAIL_BACKGROUND": False,
        }
    )
    acknowledged: list[int] = []
    threads: dict[int, str] = {}
    stop = threading.Event()

    def write() -> None:
        client = app.test_client()
        n = 0
        while not stop.is_set():
            n += 1
            uri = f"/post-{n % 7}/"
            response = client.post(
                "/api/comments",
                json={
                    "uri": uri,
                    "text": f"Comment {n} under load",
                    "form_token": issue_form_token(SECRET, "default", uri),
                },
            )
            assert response.status_code == 201, response.get_json()
            threads[response.get_json()["id"]] = uri
            acknowledged.append(response.get_json()["id"])

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while len(acknowledged) < 50:
            stop.wait(0.05)
        before = list(acknowledged)  # acknowledged before the backup started
        result = subprocess.run(
            [str(SCRIPT), "backup", str(tmp_path / "copy.sqlite3")],  # noqa: S603
            env=_env(database),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        during = len(acknowledged)
    finally:
        stop.set()
        writer.join(30)
    assert result.returncode == 0, result.stderr
    assert "Keep the secret key with it" in result.stdout
    assert _env(database)["COMMENTSVC_SECRET_KEY"] not in result.stdout
    assert len(acknowledged) > during or during > len(before)  # writes went on meanwhile

    restored = sqlite3.connect(tmp_path / "copy.sqlite3")
    assert restored.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    kept = {row[0] for row in restored.execute("SELECT id FROM comments")}
    restored.close()
    assert set(before) <= kept
    # The restored copy serves: a service started on it shows the comments.
    copy = create_app(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'copy.sqlite3'}",
            "SECRET_KEY": SECRET,
            "MAIL_BACKGROUND": False,
        }
    )
    shown = copy.test_client().get("/api/counts?uri=/post-1/").get_json()["counts"]["/post-1/"]
    assert shown >= sum(1 for ident in before if threads[ident] == "/post-1/") > 0


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (
            "postgresql+psycopg://postgres@127.0.0.1:5432/test",
            "back it up with its own tool, e.g. pg_dump",
        ),
    ],
)
def test_backup_of_another_database_says_what_to_use(tmp_path, url, reason):
    env = {**_env(tmp_path / "x.sqlite3"), "COMMENTSVC_DATABASE_URL": url}
    result = subprocess.run(
        [str(SCRIPT), "backup", str(tmp_path / "copy")],
        env=env,  # noqa: S603
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1 and reason in result.stderr
    assert not (tmp_path / "copy").exists()


def test_a_backup_that_cannot_be_written_is_one_line(tmp_path):
    database = tmp_path / "live.sqlite3"
    upgrade_in_process(f"sqlite:///{database}")
    target = tmp_path / "missing" / "copy.sqlite3"
    result = subprocess.run(
        [str(SCRIPT), "backup", str(target)],
        env=_env(database),  # noqa: S603
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Error: cannot write {target}: No such file or directory; nothing was written"
    )
