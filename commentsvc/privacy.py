"""A commenter's personal data: export it, erase it, and stop keeping addresses for long."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .models import Comment, Status, Subscription, Thread, utcnow


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def export_personal_data(session: Session, email: str) -> dict[str, Any]:
    """Everything stored under an e-mail address, as plain JSON-ready data."""
    email = email.strip().lower()
    rows = session.execute(
        select(Comment, Thread.uri).join(Thread).where(Comment.email == email)
        .order_by(Comment.created, Comment.id)
    ).all()
    subscriptions = session.execute(
        select(Subscription).where(Subscription.email == email)
    ).scalars().all()
    return {
        "email": email,
        "exported": _iso(utcnow()),
        "comments": [{
            "id": c.id, "thread": uri, "parent_id": c.parent_id, "author": c.author,
            "email": c.email, "website": c.website, "text": c.text, "status": c.status.value,
            "created": _iso(c.created), "edited": _iso(c.edited),
            "address": c.remote_addr, "notify": c.notify,
        } for c, uri in rows],
        "subscriptions": [{
            "comment_id": s.comment_id, "confirmed": _iso(s.confirmed),
            "unsubscribed": _iso(s.unsubscribed), "created": _iso(s.created),
        } for s in subscriptions],
    }


def erase_personal_data(session: Session, email: str) -> int:
    """Remove what a commenter wrote and who they were; replies keep a placeholder."""
    email = email.strip().lower()
    comments = session.execute(select(Comment).where(Comment.email == email)).scalars().all()
    for comment in comments:
        comment.author = comment.email = comment.website = None
        comment.remote_addr = comment.remote_hash = None
        comment.text = comment.html = ""
        comment.avatar = ""
        comment.notify = False
        comment.status = Status.deleted
        comment.edited = utcnow()
    for subscription in session.execute(
        select(Subscription).where(Subscription.email == email)
    ).scalars():
        session.delete(subscription)
    session.flush()
    return len(comments)


def drop_old_addresses(session: Session, days: int) -> int:
    """Forget the (anonymised) address of comments older than `days`; 0 keeps them."""
    if days <= 0:
        return 0
    cutoff = utcnow() - timedelta(days=days)
    result = session.execute(
        update(Comment)
        .where(Comment.created < cutoff, Comment.remote_addr.is_not(None))
        .values(remote_addr=None, remote_hash=None)
    )
    return result.rowcount or 0


RETENTION_EVERY = 3600.0  # seconds between two purges in one process
_last_purge = [float("-inf")]


def purge_if_due(session: Session, days: int, now: float) -> int | None:
    """Drop old addresses at most once an hour per process; None when not yet due."""
    if days <= 0 or now - _last_purge[0] < RETENTION_EVERY:
        return None
    _last_purge[0] = now
    return drop_old_addresses(session, days)
