"""Writes as one transaction, retried when they lose a race; reads that survive a dropped
connection."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from .extensions import db

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import Insert as PostgresInsert
    from sqlalchemy.dialects.sqlite import Insert as SQLiteInsert

T = TypeVar("T")
ATTEMPTS = 5


def upsert_insert(dialect: str) -> Callable[..., PostgresInsert | SQLiteInsert]:
    """The INSERT that takes ON CONFLICT clauses, of the database in use; only that dialect's
    module is loaded (a process on SQLite never needs PostgreSQL's)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        return insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def _lost_race(exc: Exception) -> bool:
    if isinstance(exc, IntegrityError):
        return True  # e.g. two first comments creating the same thread at once
    if getattr(exc, "connection_invalidated", False):
        return True  # the server dropped the connection; the pool has replaced it
    orig = getattr(exc, "orig", None)
    text = str(orig).lower() if orig else str(exc).lower()
    return any(s in text for s in ("database is locked", "deadlock", "could not serialize"))


def commit_write(work: Callable[[], T]) -> T:
    """Call work() and commit; on a lost race roll back whole and try again, a few times."""
    for attempt in range(ATTEMPTS):
        try:
            result = work()
            db.session.commit()
            return result
        except (IntegrityError, OperationalError) as exc:
            db.session.rollback()
            if attempt == ATTEMPTS - 1 or not _lost_race(exc):
                raise
            time.sleep(0.02 * 2**attempt * (1 + random.random()))  # noqa: S311  (jitter, not crypto)
        except BaseException:
            db.session.rollback()
            raise
    raise AssertionError("unreachable")


def _read(read: Callable[[Connection], T]) -> T:
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            # No BEGIN and ROLLBACK around a read: two round trips fewer. Each statement sees
            # the latest commit, as a read on SQLite does; cached pages are keyed by the thread
            # version read first, so a page can only ever be newer than its key.
            conn.execution_options(isolation_level="AUTOCOMMIT")
        return read(conn)


def read_with_retry(read: Callable[[Connection], T]) -> T:
    """Run a read on a fresh connection; once more if the server had dropped that connection
    (after a database restart every pooled connection is dead, and is replaced on failure)."""
    try:
        return _read(read)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    return _read(read)
