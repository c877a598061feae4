"""Windows that space out mail, shared by every process through the database.

Each window is one `mail_limits` row, changed only by conditional UPDATEs: two processes that
race for the last mail of a window both run the same statement, and the database lets exactly
one of them match (PostgreSQL re-checks the WHERE on the row the other one committed).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session

from .. import tokens
from ..models import MailLimit
from ..transactions import upsert_insert

ALERTS = "alerts"  # the window of single moderator alerts and the digest that follows them


def alerts_key(site: str) -> str:
    """Each site's own window of alerts and its digest (the default site keeps the one there
    was before sites)."""
    return ALERTS if site == "default" else f"{ALERTS}:{site}"


def opt_in_key(secret_key: str, address: str) -> str:
    """The window of opt-in mails to one address, named by a keyed hash: no address stored."""
    return "confirm:" + tokens.keyed_hash(secret_key, address.strip().lower())


def _ensure(session: Session, key: str, now: datetime) -> None:
    """Create the window's row unless it exists (a racing process may create it first)."""
    insert = upsert_insert(session.get_bind().dialect.name)
    session.execute(
        insert(MailLimit)
        .values(key=key, window_start=now, sent=0, held=0)
        .on_conflict_do_nothing(index_elements=["key"])
    )


def take(session: Session, key: str, now: datetime, period: timedelta, allowed: int) -> bool:
    """Take one of the `allowed` mails of the window `key` (a new window starts `period` after
    the last one began); False when they are spent. Runs in the caller's transaction."""
    if allowed <= 0:
        return False
    row = session.execute(
        select(MailLimit.window_start, MailLimit.sent).where(MailLimit.key == key)
    ).first()
    if row is not None and row.window_start > now - period and row.sent >= allowed:
        return False  # spent: decided without a write, as most repeated tries are
    if row is None:
        _ensure(session, key, now)
    restarted = session.execute(
        update(MailLimit)
        .where(MailLimit.key == key, MailLimit.window_start <= now - period)
        .values(window_start=now, sent=1)
        .execution_options(synchronize_session=False)
    )
    if cast("CursorResult[Any]", restarted).rowcount == 1:
        return True
    counted = session.execute(
        update(MailLimit)
        .where(
            MailLimit.key == key, MailLimit.window_start > now - period, MailLimit.sent < allowed
        )
        .values(sent=MailLimit.sent + 1)
        .execution_options(synchronize_session=False)
    )
    return cast("CursorResult[Any]", counted).rowcount == 1


def hold_for_digest(session: Session, key: str, now: datetime) -> None:
    """Count one held comment that got no alert of its own, for the next digest."""
    _ensure(session, key, now)
    session.execute(
        update(MailLimit)
        .where(MailLimit.key == key)
        .values(held=MailLimit.held + 1)
        .execution_options(synchronize_session=False)
    )


def claim_digest(session: Session, key: str, now: datetime, period: timedelta) -> int:
    """Claim the held comments for a digest, at most once a `period`; how many (0: none due).

    The claim takes exactly the count it read, so comments held meanwhile wait for the next
    digest, and only one of several processes claiming at once matches the UPDATE.
    """
    row = session.execute(
        select(MailLimit.held, MailLimit.digested).where(MailLimit.key == key)
    ).first()
    if row is None or row.held <= 0 or (row.digested is not None and row.digested > now - period):
        return 0
    claimed = session.execute(
        update(MailLimit)
        .where(
            MailLimit.key == key,
            MailLimit.held >= row.held,
            (MailLimit.digested.is_(None)) | (MailLimit.digested <= now - period),
        )
        .values(held=MailLimit.held - row.held, digested=now)
        .execution_options(synchronize_session=False)
    )
    return row.held if cast("CursorResult[Any]", claimed).rowcount == 1 else 0


def forget(session: Session, key: str) -> None:
    session.execute(delete(MailLimit).where(MailLimit.key == key))


def prune(session: Session, now: datetime, older_than: timedelta) -> int:
    """Delete windows long over that hold nothing back for a digest."""
    cutoff = now - older_than
    result = session.execute(
        delete(MailLimit).where(
            MailLimit.window_start < cutoff,
            MailLimit.held == 0,
            MailLimit.digested.is_(None) | (MailLimit.digested < cutoff),
        )
    )
    return cast("CursorResult[Any]", result).rowcount or 0
