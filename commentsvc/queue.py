"""What moderators review: the queue of comments with its filters and order, the threads list,
and the counts by status the admin pages show. Reads only; each takes the sites to look at
(None: every site), as the admin's site rules decide."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from .models import Comment, Status, Thread

STATUS_FILTERS = ("pending", "approved", "spam", "deleted", "all")
Query = TypeVar("Query", bound=Select[*tuple[Any, ...]])


def _on(query: Query, sites: list[str] | None) -> Query:
    return query if sites is None else query.where(Thread.site.in_(sites))


def comments(status: str, filters: Mapping[str, str], sites: list[str] | None) -> Select[Comment]:
    """The queue: comments of a status ("all": any) matching the filters (thread id; author,
    e-mail and text containing), pending ones oldest first (first come, first seen), the others
    newest first with any pending still on top; with `order=spam`, the highest spam-filter
    scores first (unscored comments last), so that a moderator can mark a page of them at
    once."""
    query = _on(select(Comment).join(Thread), sites)
    if status != "all":
        query = query.where(Comment.status == Status(status))
    if filters.get("thread", "").isdigit():
        query = query.where(Comment.thread_id == int(filters["thread"]))
    if author := filters.get("author", "").strip().lower():
        query = query.where(func.lower(Comment.author).contains(author, autoescape=True))
    if email := filters.get("email", "").strip().lower():
        query = query.where(Comment.email.contains(email, autoescape=True))
    if text := filters.get("q", "").strip().lower():
        query = query.where(func.lower(Comment.text).contains(text, autoescape=True))
    if filters.get("order") == "spam":
        return query.order_by(Comment.spam_score.desc().nulls_last(), Comment.created, Comment.id)
    if status == "pending":
        return query.order_by(Comment.created, Comment.id)
    pending_first = case((Comment.status == Status.pending, 0), else_=1)
    return query.order_by(pending_first, Comment.created.desc(), Comment.id.desc())


def status_counts(session: Session, sites: list[str] | None) -> dict[str, int]:
    """How many comments there are of each status (every status present, 0 for none)."""
    query = _on(select(Comment.status, func.count()).join(Thread), sites)
    counts = {status.value: 0 for status in Status}
    counts.update(
        {status.value: n for status, n in session.execute(query.group_by(Comment.status))}
    )
    return counts


def threads(sites: list[str] | None) -> Select[Thread]:
    """Every thread, newest first."""
    return _on(select(Thread), sites).order_by(Thread.created.desc(), Thread.id.desc())


def counts_by_thread(session: Session, thread_ids: list[int]) -> dict[int, dict[str, int]]:
    """For each of these threads, how many comments of each status it has."""
    counts: dict[int, dict[str, int]] = {i: {s.value: 0 for s in Status} for i in thread_ids}
    if thread_ids:
        rows = session.execute(
            select(Comment.thread_id, Comment.status, func.count())
            .where(Comment.thread_id.in_(thread_ids))
            .group_by(Comment.thread_id, Comment.status)
        )
        for thread_id, status, n in rows:
            counts[thread_id][status.value] = n
    return counts
