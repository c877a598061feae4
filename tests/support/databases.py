"""Throwaway databases: PostgreSQL ones made and dropped per use, SQLite files, migrated copies.

Every database made here has a name of its own (`<prefix>_<random>`), so runs and pytest
workers never see each other's data, and it is dropped when its `with` block ends.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.support.env import run_command
from tests.support.need import need

BASE_URL_VARIABLE = "COMMENTSVC_TEST_DATABASE_URL"
MIGRATION_KEY = "migration-secret-" + "m" * 32


# --- PostgreSQL --------------------------------------------------------------------------------


def postgres_problem(base_url: str | None) -> str | None:
    """Why no PostgreSQL database can be made from base_url, or None when one can."""
    if not base_url:
        return f"{BASE_URL_VARIABLE} is not set (PostgreSQL tests)"
    engine = sa.create_engine(base_url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        return f"PostgreSQL is not reachable at {make_url(base_url).host}: {exc.orig}"
    finally:
        engine.dispose()
    return None


def postgres_base() -> str:
    """The server URL the tests make their databases on; skips (fails under CI) without one."""
    base = os.environ.get(BASE_URL_VARIABLE, "")
    problem = postgres_problem(base)
    need(problem is None, problem or "")
    return base


def with_database(url: str, name: str) -> str:
    """url pointing at another database of the same server."""
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _admin(server_url: str) -> sa.Engine:
    return sa.create_engine(server_url, isolation_level="AUTOCOMMIT")


def create_postgres(server_url: str, name: str, template: str | None = None) -> str:
    """CREATE DATABASE name (empty, or a copy of template) on server_url's server; its URL."""
    admin = _admin(server_url)
    try:
        with admin.connect() as conn:
            copy = f' TEMPLATE "{template}"' if template else ""
            conn.execute(sa.text(f'CREATE DATABASE "{name}"{copy}'))
    finally:
        admin.dispose()
    return with_database(server_url, name)


def drop_postgres(server_url: str, name: str) -> None:
    """DROP DATABASE name, closing whatever connections are still open to it."""
    admin = _admin(server_url)
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextlib.contextmanager
def fresh_postgres(
    server_url: str, prefix: str = "commentsvc_test", template: str | None = None
) -> Iterator[str]:
    """A new database on server_url's server (empty, or a copy of template), dropped on exit."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    url = create_postgres(server_url, name, template)
    try:
        yield url
    finally:
        drop_postgres(server_url, name)


@contextlib.contextmanager
def empty_database_like(like_url: str, folder: Path, prefix: str) -> Iterator[str]:
    """An empty database of like_url's backend beside it: a SQLite file in folder, or a new
    PostgreSQL database on like_url's server, dropped on exit."""
    if make_url(like_url).get_backend_name() == "sqlite":
        yield f"sqlite:///{folder / f'{prefix}.sqlite3'}"
        return
    with fresh_postgres(with_database(like_url, "postgres"), prefix) as url:
        yield url


# --- migrations --------------------------------------------------------------------------------


def upgrade_in_process(url: str, revision: str = "head") -> str:
    """Migrate the database at url through Flask-Migrate in this process; returns url."""
    from flask_migrate import upgrade

    from commentsvc import create_app
    from commentsvc.extensions import db, init_migrations

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": MIGRATION_KEY})
    init_migrations(app)
    with app.app_context():
        upgrade(revision=revision)
        db.engine.dispose()
    return url


def migrate(database_url: str, instance: Path) -> None:
    """`commentsvc db upgrade` on the database, as an operator runs it."""
    done = run_command(database_url, instance, "db", "upgrade")
    if done.returncode != 0:
        raise RuntimeError(f"commentsvc db upgrade failed:\n{done.stdout}\n{done.stderr}")


_TEMPLATES: dict[str, str] = {}  # one migrated database per backend and process, to copy from


def _sqlite_template() -> str:
    if "sqlite" not in _TEMPLATES:
        folder = Path(tempfile.mkdtemp(prefix="commentsvc-template-"))
        atexit.register(shutil.rmtree, folder, True)
        migrate(f"sqlite:///{folder / 'template.sqlite3'}", folder)
        _TEMPLATES["sqlite"] = str(folder / "template.sqlite3")
    return _TEMPLATES["sqlite"]


def _postgres_template(server_url: str, workdir: Path) -> str:
    key = f"postgresql {server_url}"
    if key not in _TEMPLATES:
        name = f"commentsvc_test_template_{secrets.token_hex(6)}"
        url = create_postgres(server_url, name)
        atexit.register(drop_postgres, server_url, name)
        migrate(url, workdir)
        _TEMPLATES[key] = name
    return _TEMPLATES[key]


def copy_sqlite(source: str, target: Path) -> str:
    """A copy of the SQLite database file source at target; its URL."""
    origin, copy = sqlite3.connect(source), sqlite3.connect(target)
    try:
        origin.backup(copy)
    finally:
        origin.close()
        copy.close()
    return f"sqlite:///{target}"


def migrated_sqlite(target: Path) -> str:
    """A SQLite database at target at the current schema (a copy of this process's template)."""
    return copy_sqlite(_sqlite_template(), target)


@contextlib.contextmanager
def migrated_database(backend: str, workdir: Path, postgres_server: str = "") -> Iterator[str]:
    """An empty database of its own at the current schema: a copy of one that `commentsvc db
    upgrade` made once per process (the upgrade takes seconds, a copy milliseconds)."""
    if backend == "sqlite":
        yield migrated_sqlite(workdir / "comments.sqlite3")
        return
    template = _postgres_template(postgres_server, workdir)
    with fresh_postgres(postgres_server, template=template) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"], name="database_url")
def fresh_database(request, tmp_path):
    """A migrated, empty database of each backend, its own for this test (for tests that run
    servers on it: they cannot share the suite's database, which other tests empty)."""
    server = postgres_base() if request.param == "postgresql" else ""
    with migrated_database(request.param, tmp_path, server) as url:
        yield url


# --- reading what is stored --------------------------------------------------------------------


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
