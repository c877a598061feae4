"""Run one write as one transaction, retrying when it loses a race with another writer."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError, OperationalError

from .extensions import db

T = TypeVar("T")
ATTEMPTS = 5


def _lost_race(exc: Exception) -> bool:
    if isinstance(exc, IntegrityError):
        return True  # e.g. two first comments creating the same thread at once
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
