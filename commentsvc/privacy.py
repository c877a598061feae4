"""A commenter's personal data: export it, erase it, and stop keeping addresses for long."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    SQLColumnExpression,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from . import rules, spamfilter
from .chores import Every
from .extensions import Model
from .mail import limits
from .models import (
    AuditEntry,
    Ban,
    BanKind,
    Comment,
    OutboxMail,
    Status,
    Subscription,
    Thread,
    utcnow,
)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export_personal_data(session: Session, email: str) -> dict[str, Any]:
    """Everything stored under an e-mail address, as plain JSON-ready data."""
    email = email.strip().lower()
    rows = session.execute(
        select(Comment, Thread.uri)
        .join(Thread)
        .where(Comment.email == email)
        .order_by(Comment.created, Comment.id)
    ).all()
    subscriptions = (
        session.execute(select(Subscription).where(Subscription.email == email)).scalars().all()
    )
    return {
        "email": email,
        "exported": _iso(utcnow()),
        "comments": [
            {
                "id": c.id,
                "thread": uri,
                "parent_id": c.parent_id,
                "author": c.author,
                "email": c.email,
                "website": c.website,
                "text": c.text,
                "status": c.status.value,
                "created": _iso(c.created),
                "edited": _iso(c.edited),
                "address": c.remote_addr,
                "notify": c.notify,
                "language": c.lang,
            }
            for c, uri in rows
        ],
        "subscriptions": [
            {
                "comment_id": s.comment_id,
                "confirmed": _iso(s.confirmed),
                "unsubscribed": _iso(s.unsubscribed),
                "created": _iso(s.created),
            }
            for s in subscriptions
        ],
    }


@dataclass
class Erasure:
    """What an erasure removed, and what it kept on purpose."""

    comments: int = 0
    subscriptions: int = 0
    mails: int = 0
    audit_entries: int = 0
    bans_kept: int = 0  # an e-mail ban stays, on a keyed hash of the address


ERASED = "[erased]"
CHUNK = 500  # ids per IN (...): far below every backend's limit on parameters


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def _holds(column: SQLColumnExpression[str | None], email: str) -> ColumnElement[bool]:
    return func.lower(column).contains(email, autoescape=True)


def _without(text: str, email: str) -> str:
    return re.sub(re.escape(email), ERASED, text, flags=re.IGNORECASE)


def erase_personal_data(session: Session, email: str, secret_key: str | None = None) -> Erasure:
    """Remove what a commenter wrote and who they were, wherever it was copied: their comments
    (replies keep a placeholder), subscriptions, every mail to them or quoting them, the
    audit log's details about their comments; their threads' cached pages go stale with it."""
    email = email.strip().lower()
    erasure = Erasure()
    comments = (
        session.execute(select(Comment).where(func.lower(Comment.email) == email)).scalars().all()
    )
    ids = [comment.id for comment in comments]
    spamfilter.forget(session, ids)  # a lesson keeps the words and name it was taught
    for comment in comments:
        comment.author = comment.email = comment.website = None
        comment.remote_addr = comment.remote_hash = comment.text_hash = None
        comment.text = comment.html = ""
        comment.avatar = ""
        comment.held_reason = None
        comment.notify = False
        comment.status = Status.deleted
        comment.edited = utcnow()
    session.flush()  # the flush bumps each thread's version: no cached page keeps the words
    erasure.comments = len(comments)
    erasure.subscriptions = _delete(
        session, Subscription, func.lower(Subscription.email) == email, Subscription.comment_id, ids
    )
    erasure.mails = _delete(
        session,
        OutboxMail,
        or_(
            func.lower(OutboxMail.recipient) == email,
            _holds(OutboxMail.subject, email),
            _holds(OutboxMail.text_body, email),
            _holds(OutboxMail.html_body, email),
        ),
        OutboxMail.comment_id,
        ids,
    )
    erasure.audit_entries = _scrub_audit(session, email, ids)
    for ban in session.execute(select(Ban).where(_holds(Ban.reason, email))).scalars():
        ban.reason = _without(ban.reason or "", email)  # it holds the address
    erasure.bans_kept = _keep_bans_without_the_address(session, email, secret_key)
    if secret_key:
        limits.forget(session, limits.opt_in_key(secret_key, email))
    session.flush()
    return erasure


def _keep_bans_without_the_address(session: Session, email: str, secret_key: str | None) -> int:
    """Turn the e-mail bans on this address into bans on its keyed hash, so the address stays
    banned without being stored; how many were kept. Without the key they are lifted."""
    bans = (
        session.execute(
            select(Ban).where(Ban.kind == BanKind.email, func.lower(Ban.value) == email)
        )
        .scalars()
        .all()
    )
    if not secret_key:
        for ban in bans:
            session.delete(ban)
        return 0
    erased = rules.erased_email_value(secret_key, email)
    for ban in bans:
        twin = session.execute(
            select(Ban).where(Ban.site == ban.site, Ban.kind == ban.kind, Ban.value == erased)
        ).scalar_one_or_none()
        if twin is not None:  # banned again after an earlier erasure
            twin.action = ban.action  # the latest decision holds
            session.delete(ban)
        else:
            ban.value = erased
    return len(bans)


def _delete(
    session: Session,
    model: type[Model],
    match: ColumnElement[bool],
    comment_id: SQLColumnExpression[int | None],
    ids: list[int],
) -> int:
    """Delete the rows that match, or that belong to one of the comments."""
    count = cast("CursorResult[Any]", session.execute(delete(model).where(match))).rowcount or 0
    for chunk in _chunks(ids):
        count += (
            cast(
                "CursorResult[Any]", session.execute(delete(model).where(comment_id.in_(chunk)))
            ).rowcount
            or 0
        )
    return count


def _scrub_audit(session: Session, email: str, ids: list[int]) -> int:
    """Keep who did what and when; drop the details about the comments, and the address."""
    scrubbed = 0
    for chunk in _chunks(ids):
        scrubbed += (
            cast(
                "CursorResult[Any]",
                session.execute(
                    update(AuditEntry)
                    .where(
                        AuditEntry.target.in_([f"comment {i}" for i in chunk]),
                        AuditEntry.detail.is_not(None),
                    )
                    .values(detail=None)
                ),
            ).rowcount
            or 0
        )
    for entry in session.execute(
        select(AuditEntry).where(_holds(AuditEntry.detail, email))
    ).scalars():
        entry.detail = _without(entry.detail or "", email)  # it holds the address
        scrubbed += 1
    return scrubbed


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
    return cast("CursorResult[Any]", result).rowcount or 0


_purges = Every()


def purge_if_due(session: Session, days: int, now: float) -> int | None:
    """Drop old addresses at most once an hour per process; None when not yet due."""
    if days <= 0 or not _purges.due(now):
        return None
    return drop_old_addresses(session, days)
