"""Reading threads: the public comment tree of one thread and the counts of many."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from .errors import ValidationFailed
from .models import Comment, Status, Thread

MAX_DEPTH = 10  # replies deeper than this are attached at this depth (parent_id stays true)
SORTS = ("oldest", "newest")

_PUBLIC_COLUMNS = (
    Comment.id, Comment.parent_id, Comment.author, Comment.website, Comment.avatar,
    Comment.html, Comment.status, Comment.created, Comment.edited, Comment.score,
)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def public_comment(row: Any) -> dict[str, Any]:
    """The fields of a comment anyone may see (never e-mail, address or source text)."""
    deleted = row.status == Status.deleted
    return {
        "id": row.id,
        "parent_id": row.parent_id,
        "author": None if deleted else row.author,
        "website": None if deleted else row.website,
        "avatar": "" if deleted else row.avatar,
        "html": "" if deleted else row.html,
        "status": row.status.value,
        "created": _iso(row.created),
        "edited": _iso(row.edited),
        "score": row.score,
        "replies": [],
    }


def _cursor(node: dict[str, Any]) -> str:
    return f"{node['_key'][0]}.{node['id']}"


def _parse_cursor(cursor: str) -> tuple[int, int]:
    try:
        micros, _, ident = cursor.partition(".")
        return int(micros), int(ident)
    except ValueError:
        raise ValidationFailed({"after": ["Not a cursor from a previous page."]}) from None


def thread_tree(
    session: Session, *, site: str, uri: str, own_ids: Iterable[int] = (),
    sort: str = "oldest", limit: int = 50, after: str | None = None,
) -> dict[str, Any]:
    """One thread's visible comments as a nested tree, a page of top-level comments at a time.

    Two queries whatever the thread's size: the thread, then all its visible comments.
    """
    after_key = _parse_cursor(after) if after else None
    body: dict[str, Any] = {
        "uri": uri, "title": None, "closed": False, "count": 0, "total": 0,
        "comments": [], "next": None,
    }
    thread = session.execute(
        select(Thread.id, Thread.title, Thread.closed).where(Thread.site == site, Thread.uri == uri)
    ).first()
    if thread is None:
        return body
    body["title"], body["closed"] = thread.title, thread.closed
    own_ids = list(own_ids)
    visible = Comment.status.in_([Status.approved, Status.deleted])
    if own_ids:
        visible = or_(visible, and_(Comment.id.in_(own_ids), Comment.status == Status.pending))
    rows = session.execute(
        select(*_PUBLIC_COLUMNS).where(Comment.thread_id == thread.id, visible)
    ).all()

    nodes = {}
    for row in rows:
        node = public_comment(row)
        node["_key"] = (int(row.created.timestamp() * 1_000_000), row.id)
        nodes[row.id] = node
    body["count"] = sum(1 for row in rows if row.status == Status.approved)

    # A reply always has a larger id than its parent, so walking ids downwards sees every
    # child before its parent: a deleted comment is kept only when a kept reply hangs under it.
    roots = []
    for ident in sorted(nodes, reverse=True):
        node = nodes[ident]
        if node["status"] == "deleted" and not node["replies"]:
            del nodes[ident]
            continue
        parent = nodes.get(node["parent_id"])
        (parent["replies"] if parent else roots).append(node)
    for node in nodes.values():
        node["replies"].sort(key=lambda n: n["_key"])
    _flatten_deep(roots)

    roots.sort(key=lambda n: n["_key"], reverse=(sort == "newest"))
    body["total"] = len(roots)
    if after_key:
        roots = [n for n in roots
                 if (n["_key"] < after_key if sort == "newest" else n["_key"] > after_key)]
    page = roots[:limit]
    if len(roots) > limit:
        body["next"] = _cursor(page[-1])
    for node in nodes.values():
        del node["_key"]
    body["comments"] = page
    return body


def _flatten_deep(roots: list[dict[str, Any]]) -> None:
    """Attach replies nested deeper than MAX_DEPTH to their ancestor at that depth."""
    stack = [(node, 1) for node in roots]
    while stack:
        node, depth = stack.pop()
        if depth < MAX_DEPTH:
            stack.extend((child, depth + 1) for child in node["replies"])
            continue
        flat, pending = [], list(node["replies"])
        while pending:
            child = pending.pop(0)
            pending[:0] = child["replies"]
            child["replies"] = []
            flat.append(child)
        node["replies"] = sorted(flat, key=lambda n: n["_key"])


def count_by_uri(session: Session, site: str, uris: Iterable[str]) -> dict[str, int]:
    """Approved comments per thread URI, in one query; unknown URIs count 0."""
    uris = list(dict.fromkeys(uris))
    counts = dict.fromkeys(uris, 0)
    if not uris:
        return counts
    rows = session.execute(
        select(Thread.uri, func.count(Comment.id))
        .join(Comment, and_(Comment.thread_id == Thread.id, Comment.status == Status.approved))
        .where(Thread.site == site, Thread.uri.in_(uris))
        .group_by(Thread.uri)
    ).all()
    counts.update({uri: n for uri, n in rows})
    return counts
