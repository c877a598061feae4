"""A serving process loads only what its configuration uses: no PostgreSQL driver on SQLite, no
Redis client without Redis, no Alembic, importers or YAML until an import or the API
description asks for them; the pages that load them late still work; `commentsvc run`'s
master process holds no app; the per-process page caches keep one version of a thread."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from commentsvc.threads import BodyCache
from tests.support.databases import migrated_database
from tests.support.env import service_env
from tests.support.server import Server

from .conftest import REPO, corpus

# Never needed by an app on SQLite without Redis while it serves readers and moderators.
UNUSED_ON_SQLITE = [
    "psycopg",
    "sqlalchemy.dialects.postgresql",
    "redis",
    "alembic",
    "flask_migrate",
    "commentsvc.importers",
    "defusedxml",
    "tqdm",
    "yaml",
    "commentsvc.backup",
    "brotli",  # until a client asks for it
]
DISQUS = ("imports", "disqus", "isso-disqus.xml")


def probe(database_url: str, instance: Path, *args: str, **settings) -> dict:
    settings = {
        "mail_background": False,
        "min_submit_seconds": 0,
        "ratelimit_enabled": False,
        "moderation": "none",
        **settings,
    }
    env = service_env(database_url, instance, **settings)
    return json.loads(
        _python(env, "-m", "tests.memory_probe", json.dumps(UNUSED_ON_SQLITE), *args)[-1]
    )


def _python(env: dict[str, str], *args: str) -> list[str]:
    """The lines a fresh interpreter prints, run with these arguments in the checkout."""
    done = subprocess.run(
        [sys.executable, *args],  # noqa: S603
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


@pytest.fixture
def sqlite_url(tmp_path):
    with migrated_database("sqlite", tmp_path) as url:
        yield url


def test_an_app_on_sqlite_without_redis_loads_no_unused_package(sqlite_url, tmp_path):
    report = probe(sqlite_url, tmp_path, str(corpus(*DISQUS)))
    assert report["created"] == []
    assert report["served readers"] == []


def test_pages_that_load_their_modules_late_still_work(sqlite_url, tmp_path):
    report = probe(sqlite_url, tmp_path, str(corpus(*DISQUS)))
    statuses = report.pop("statuses")
    assert {
        request: status for request, status in statuses.items() if status not in (200, 201)
    } == {"POST /admin/login": 303}
    # What an import and the API description need arrives with them, and nothing else.
    assert set(report["served moderators"]) == {"commentsvc.importers", "defusedxml"}
    assert set(report["served the API description"]) == {
        "commentsvc.importers",
        "defusedxml",
        "yaml",
    }


def test_an_app_on_postgresql_and_redis_loads_their_clients(tmp_path):
    # Creating the app makes its engine and rate-limit store; neither connects yet.
    url = "postgresql+psycopg://commentsvc@127.0.0.1:9/unused"
    loaded = probe(url, tmp_path)["created"]
    assert {"psycopg", "sqlalchemy.dialects.postgresql"} <= set(loaded)
    assert "redis" not in loaded
    with_redis = probe(url, tmp_path, redis_url="redis://127.0.0.1:9/0", ratelimit_enabled=True)[
        "created"
    ]
    assert "redis" in with_redis


# Run by the command-line test below in a fresh interpreter: `commentsvc ARGS...`, then which
# of the migration packages the command loaded.
COMMAND_PROBE = """
import json, sys
from commentsvc.cli import main
code = main(sys.argv[1:], standalone_mode=False)
print(json.dumps(sorted(m for m in ("alembic", "flask_migrate") if m in sys.modules)))
"""


def _command_loads(sqlite_url: str, tmp_path: Path, *args: str) -> tuple[str, list[str]]:
    env = service_env(sqlite_url, tmp_path, mail_background=False)
    *output, loaded = _python(env, "-c", COMMAND_PROBE, *args)
    return "\n".join(output), json.loads(loaded)


def test_commands_load_alembic_only_to_migrate(sqlite_url, tmp_path):
    # An import's start-up is part of its time: it needs no migration machinery.
    output, loaded = _command_loads(
        sqlite_url, tmp_path, "import", "disqus", str(corpus(*DISQUS)), "--dry-run", "--quiet"
    )
    assert "Comments: 5 to import" in output and loaded == []
    assert _command_loads(sqlite_url, tmp_path, "export", str(tmp_path / "all.json"))[1] == []
    # The migration commands are still there, described without loading them, and work.
    output, loaded = _command_loads(sqlite_url, tmp_path, "--help")
    assert re.search(r"^  db +\S", output, re.MULTILINE) and loaded == []
    output, loaded = _command_loads(sqlite_url, tmp_path, "db", "current")
    latest = max(p.name[:4] for p in (REPO / "migrations" / "versions").glob("0*.py"))
    assert f"{latest} (head)" in output and loaded == ["alembic", "flask_migrate"]


def _maps(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc")
def test_the_run_command_leaves_a_master_without_the_app(sqlite_url, tmp_path):
    env = service_env(sqlite_url, tmp_path, mail_background=False)
    with Server(env, tmp_path / "run.log", workers=1, chdir=tmp_path, cli=True) as running:
        server = running.process
        assert server is not None
        # The command's own process became the gunicorn master: same pid, a fresh interpreter.
        # Where setproctitle is installed (mutmut brings it), gunicorn retitles its master and
        # the arguments are no longer readable from /proc, but the title names the master.
        command = Path(f"/proc/{server.pid}/cmdline").read_text().rstrip("\0").split("\0")
        if command[0].startswith("gunicorn: master"):
            assert importlib.util.find_spec("setproctitle") is not None
        else:
            assert command[-5:-3] == ["-m", "commentsvc.serve"]
        (worker,) = map(
            int, Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        )
        # SQLAlchemy's compiled modules and SQLite's are mapped only where the app was loaded.
        assert "sqlalchemy" in _maps(worker) and "_sqlite3" in _maps(worker)
        assert "sqlalchemy" not in _maps(server.pid) and "_sqlite3" not in _maps(server.pid)


# --- the per-process page caches ------------------------------------------------------------


def test_a_new_version_of_a_thread_drops_the_pages_of_the_old_one():
    cache = BodyCache(max_bytes=1000)
    cache.put("a", 1, "page 1", b"x" * 10)
    cache.put("a", 1, "page 2", b"y" * 10)
    cache.put("b", 7, "page 1", b"z" * 10)
    assert cache.get("a", 1, "page 2") == b"y" * 10
    cache.put("a", 2, "page 1", b"w" * 10)
    assert cache.get("a", 1, "page 1") is None and cache.get("a", 1, "page 2") is None
    assert cache.get("a", 2, "page 1") == b"w" * 10 and cache.get("a", 2, "page 2") is None
    assert cache.get("b", 7, "page 1") == b"z" * 10
    assert cache.size == 20 and len(cache.entries) == 2


def test_the_caches_stay_within_their_budget():
    cache = BodyCache(max_bytes=100)
    for n in range(50):
        cache.put(f"thread {n}", 1, "page", b"x" * 20)
        assert cache.size <= 100
    assert [key for key in cache.entries] == [(f"thread {n}", "page") for n in range(45, 50)]
    assert set(cache.versions) == {f"thread {n}" for n in range(45, 50)}
    cache.put("large", 1, "page", b"x" * 26)  # over a quarter of the budget: not kept
    assert cache.get("large", 1, "page") is None
