"""Writes as one transaction, retried when they lose a race; reads that survive a dropped
connection."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from .extensions import db

T = TypeVar("T")
ATTEMPTS = 5


def _lost_race(exc: Exception) -> bool:
    if isinstance(exc, IntegrityError):
        return True  # e.g. two first comments creating the same thread at once
    if getattr(exc, "connection_invalidated", False):
        return True  # the server dropped the connection; the pool has replaced it
    text = str(exc.orig).lower() if getattr(exc, "orig", None) else str(exc).lower()
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


def read_with_retry(read: Callable[[Connection], T]) -> T:
    """Run a read on a fresh connection; once more if the server had dropped that connection
    (after a database restart every pooled connection is dead, and is replaced on failure)."""
    try:
        with db.engine.connect() as conn:
            return read(_statement_by_statement(conn))
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    with db.engine.connect() as conn:
        return read(_statement_by_statement(conn))


def _statement_by_statement(conn: Connection) -> Connection:
    """No transaction around a read: each statement stands alone, as it does in a READ
    COMMITTED one, and PostgreSQL answers a one-statement read (a page's counts) in one round
    trip instead of three (BEGIN, the statement, the ROLLBACK that returns it to the pool).
    SQLite's driver begins no transaction for a read anyway, and resetting the connection
    afterwards would cost more than it saves."""
    if conn.dialect.name == "sqlite":
        return conn
    return conn.execution_options(isolation_level="AUTOCOMMIT")
