"""Reading threads: the public comment tree of one thread and the counts of many."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from datetime import datetime
from typing import Any

import orjson
from flask_babel import gettext
from sqlalchemy import ARRAY, Row, String, and_, any_, bindparam, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from .errors import ValidationFailed
from .httpcache import Body
from .models import Comment, Status, Thread
from .transactions import PlainReads, plain

MAX_DEPTH = 10  # replies deeper than this are attached at this depth (parent_id stays true)
SORTS = ("oldest", "newest", "top")  # top: score, then age
# What a thread's cached pages are keyed by: its id, version, closed state and title.
ThreadVersion = tuple[int, int, bool, str | None]

_PUBLIC_COLUMNS = (
    Comment.id,
    Comment.parent_id,
    Comment.author,
    Comment.website,
    Comment.avatar,
    Comment.html,
    Comment.status,
    Comment.created,
    Comment.edited,
    Comment.score,
    Comment.moderator_id,
)
_HELD = (Status.pending, Status.spam)
# Statements built once: the hot reads then only bind values to an already compiled query.
_THREAD = plain(
    select(Thread.id, Thread.title, Thread.closed, Thread.version, Thread.approved_count).where(
        Thread.site == bindparam("site"), Thread.uri == bindparam("uri")
    )
)
# A held comment (an edit sent back to review, say) whose replies are public stays in the
# tree as a placeholder, as a deleted one does, so its replies keep their place.
_PARENTS_OF_PUBLIC = (
    select(Comment.parent_id)
    .where(
        Comment.thread_id == bindparam("thread_id"),
        Comment.status == Status.approved,
        Comment.parent_id.is_not(None),
    )
    .scalar_subquery()
)
_VISIBLE = or_(
    Comment.status.in_([Status.approved, Status.deleted]),
    and_(Comment.status.in_(_HELD), Comment.id.in_(_PARENTS_OF_PUBLIC)),
)
_COMMENTS = (
    select(*_PUBLIC_COLUMNS)
    .where(Comment.thread_id == bindparam("thread_id"), _VISIBLE)
    .order_by(Comment.created, Comment.id)
)
_COMMENTS_WITH_OWN = (
    select(*_PUBLIC_COLUMNS)
    .where(
        Comment.thread_id == bindparam("thread_id"),
        or_(
            _VISIBLE,
            and_(Comment.id.in_(bindparam("own", expanding=True)), Comment.status.in_(_HELD)),
        ),
    )
    .order_by(Comment.created, Comment.id)
)
# The count kept on each thread row: one read of the (site, uri) index per URI.
_COUNTS = plain(
    select(Thread.uri, Thread.approved_count).where(
        Thread.site == bindparam("site"), Thread.uri.in_(bindparam("uris", expanding=True))
    )
)
# PostgreSQL takes the URIs as one array: the statement is the same however many there are, so
# it is prepared once, not written out with a parameter per URI on every request.
_COUNTS_ARRAY = plain(
    select(Thread.uri, Thread.approved_count).where(
        Thread.site == bindparam("site"),
        Thread.uri == any_(bindparam("uris", type_=ARRAY(String))),
    )
)


def iso_time(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def public_comment(row: Any) -> dict[str, Any]:
    """The fields of a comment anyone may see (never e-mail, address or source text)."""
    return _public(
        row.id,
        row.parent_id,
        row.author,
        row.website,
        row.avatar,
        row.html,
        row.status,
        row.created,
        row.edited,
        row.score,
        row.moderator_id,
    )


def _public(
    ident: int,
    parent_id: int | None,
    author: str | None,
    website: str | None,
    avatar: str,
    html: str,
    status: Status,
    created: datetime,
    edited: datetime | None,
    score: int,
    moderator_id: int | None,
) -> dict[str, Any]:
    if status == Status.deleted:
        author = website = None
        avatar = html = ""
    elif status == Status.spam:
        status = Status.pending  # only its author sees it, and as held: the verdict stays ours
    return {
        "id": ident,
        "parent_id": parent_id,
        "author": author,
        "website": website,
        "avatar": avatar,
        "html": html,
        "status": status.value,
        "created": iso_time(created),
        "edited": iso_time(edited),
        "score": score,
        "moderator": moderator_id is not None,
        "replies": [],
    }


# A cursor as `next` writes it, and as openapi.yaml describes `after`: two or three whole
# numbers, ASCII digits only (int() alone would also take "", "+1", " 1", "1_0" and the digits
# of other scripts).
_CURSOR = re.compile(r"-?[0-9]{1,20}\.[0-9]{1,20}(?:\.[0-9]{1,20})?")


def _parse_cursor(cursor: str) -> tuple[int, ...]:
    if not _CURSOR.fullmatch(cursor):
        raise ValidationFailed({"after": [gettext("Not a cursor from a previous page.")]})
    return tuple(int(part) for part in cursor.split("."))


def _empty(uri: str) -> dict[str, Any]:
    return {
        "uri": uri,
        "title": None,
        "closed": False,
        "count": 0,
        "total": 0,
        "comments": [],
        "next": None,
    }


def thread_tree(
    session: Session,
    *,
    site: str,
    uri: str,
    own_ids: Iterable[int] = (),
    sort: str = "oldest",
    limit: int = 50,
    after: str | None = None,
) -> dict[str, Any]:
    """One thread's visible comments as a nested tree, a page of top-level comments at a time.

    Two queries whatever the thread's size: the thread, then all its visible comments.
    """
    after_key = _parse_cursor(after) if after is not None else None
    thread = session.execute(_THREAD, {"site": site, "uri": uri}).first()
    if thread is None:
        return _empty(uri)
    return _tree(session, uri, thread, list(own_ids), sort, limit, after_key)


def _tree(
    session: Session | Connection | PlainReads,
    uri: str,
    thread: Row[*tuple[Any, ...]],
    own_ids: list[int],
    sort: str,
    limit: int,
    after_key: tuple[int, ...] | None,
) -> dict[str, Any]:
    if after_key and len(after_key) != (3 if sort == "top" else 2):
        raise ValidationFailed({"after": [gettext("This cursor is from a page in another order.")]})
    rows: Iterable[Row[*tuple[Any, ...]] | tuple[Any, ...]]
    if own_ids:
        rows = session.execute(_COMMENTS_WITH_OWN, {"thread_id": thread.id, "own": own_ids})
    else:
        rows = session.execute(_COMMENTS, {"thread_id": thread.id})
    own = set(own_ids)
    # Held comments that are not the reader's own are here only as placeholders.
    rows = [row if row[6] not in _HELD or row[0] in own else _as_placeholder(row) for row in rows]

    # A reply always has a larger id than its parent, so walking ids downwards sees every
    # child before its parent: a deleted comment is kept only when a kept reply hangs under it.
    kept_replies: dict[int, int] = {}
    parent_of = {row[0]: row[1] for row in rows}
    deleted = {row[0] for row in rows if row[6] == Status.deleted}
    kept: set[int] = set()
    for ident in sorted(parent_of, reverse=True):
        if ident in deleted and not kept_replies.get(ident):
            continue
        kept.add(ident)
        parent = parent_of[ident]
        kept_replies[parent] = kept_replies.get(parent, 0) + 1

    nodes: dict[int, dict[str, Any]] = {}
    keys: dict[int, tuple[int, ...]] = {}
    for row in rows:  # in order of creation, so replies are appended oldest first
        if row[0] in kept:
            nodes[row[0]] = _public(*row)
            keys[row[0]] = (int(row[7].timestamp() * 1_000_000), row[0])
    roots: list[dict[str, Any]] = []
    for row in rows:
        node = nodes.get(row[0])
        if node is None:
            continue
        parent = nodes.get(row[1])
        (roots if parent is None else parent["replies"]).append(node)
    _flatten_deep(roots, keys)

    if sort == "newest":
        roots.reverse()
    elif sort == "top":
        # A cursor carries the score too: (minus the score, time, id) orders the pages.
        keys = {i: (-nodes[i]["score"], *k) for i, k in keys.items()}
        roots.sort(key=lambda n: keys[n["id"]])
    total = len(roots)
    if after_key:
        roots = [
            n
            for n in roots
            if (keys[n["id"]] < after_key if sort == "newest" else keys[n["id"]] > after_key)
        ]
    page = roots[:limit]
    next_cursor = None
    if len(roots) > limit:
        next_cursor = ".".join(map(str, keys[page[-1]["id"]]))
    return {
        "uri": uri,
        "title": thread.title,
        "closed": thread.closed,
        "count": thread.approved_count,
        "total": total,
        "comments": page,
        "next": next_cursor,
    }


def _as_placeholder(row: Row[*tuple[Any, ...]]) -> tuple[Any, ...]:
    return (*row[:6], Status.deleted, *row[7:])


def _flatten_deep(roots: list[dict[str, Any]], keys: dict[int, tuple[int, ...]]) -> None:
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
        node["replies"] = sorted(flat, key=lambda n: keys[n["id"]])


class BodyCache:
    """Rendered thread pages of this process (JSON bodies, HTML fragments, layouts), each kept
    under its thread and the version it was made from (bumped by every write that touches the
    thread), so a stale page can never be served. A thread keeps pages of one version only: the
    first page made from another version drops the others at once, rather than leaving them to
    age out of the budget while nothing can ever ask for them again."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        # least recent first
        self.entries: OrderedDict[tuple[Hashable, Hashable], tuple[Any, int]] = OrderedDict()
        # thread: version, details
        self.versions: dict[Hashable, tuple[Hashable, set[Hashable]]] = {}
        self.lock = threading.Lock()

    def get(self, thread: Hashable, version: Hashable, detail: Hashable) -> Any:
        with self.lock:
            held = self.versions.get(thread)
            if held is None or held[0] != version:
                return None
            key = (thread, detail)
            entry = self.entries.get(key)
            if entry is None:
                return None
            self.entries.move_to_end(key)
            return entry[0]

    def put(
        self,
        thread: Hashable,
        version: Hashable,
        detail: Hashable,
        body: Any,
        size: int | None = None,
    ) -> None:
        """Keep `body`, counted as `size` bytes (default: its length, for bytes and str)."""
        size = len(body) if size is None else size
        if size > self.max_bytes // 4:
            return
        with self.lock:
            held = self.versions.get(thread)
            if held is not None and held[0] != version:
                self._drop(thread, held[1])
                held = None
            if held is None:
                held = self.versions[thread] = (version, set())
            if detail in held[1]:
                return
            self.entries[(thread, detail)] = (body, size)
            held[1].add(detail)
            self.size += size
            while self.size > self.max_bytes:
                (old, old_detail), (_, old_size) = self.entries.popitem(last=False)
                self.size -= old_size
                details = self.versions[old][1]
                details.discard(old_detail)
                if not details:
                    del self.versions[old]

    def _drop(self, thread: Hashable, details: set[Hashable]) -> None:
        for detail in details:
            self.size -= self.entries.pop((thread, detail))[1]
        del self.versions[thread]


# Per worker process. Pages of every thread read recently, up to a budget that keeps a worker
# within the memory figures of bench/memory_bench.py: a 1,000-comment thread is about 0.6 MB.
_bodies = BodyCache(max_bytes=8 * 1024 * 1024)


def thread_version(session: Session, *, site: str, uri: str) -> ThreadVersion | None:
    """What a thread's cached pages are keyed by (its id, version, state and title); None when
    it has no comments."""
    row = session.execute(_THREAD, {"site": site, "uri": uri}).first()
    return (row.id, row.version, row.closed, row.title) if row is not None else None


def _closed_with(tree: dict[str, Any], extra: dict[str, Any]) -> bytes:
    return orjson.dumps({**tree, **extra})


def thread_json(
    session: Session | Connection | PlainReads,
    *,
    site: str,
    uri: str,
    own_ids: Iterable[int] = (),
    sort: str = "oldest",
    limit: int = 50,
    after: str | None = None,
    extra: dict[str, Any] | None = None,
) -> tuple[Body, bool]:
    """thread_tree as a JSON object (with `extra`'s fields), and whether it is public: from
    this process's cache when it is current. A page holding a reader's own held comments is
    theirs alone and never cached, here or anywhere else.

    `session` may be a plain Connection (or PlainReads): every statement here is a Core one.
    """
    extra = extra or {}
    after_key = _parse_cursor(after) if after is not None else None
    thread = session.execute(_THREAD, {"site": site, "uri": uri}).first()
    if thread is None:
        return Body(_closed_with(_empty(uri), extra)), True
    own_ids = list(own_ids)
    if own_ids:
        return Body(
            _closed_with(_tree(session, uri, thread, own_ids, sort, limit, after_key), extra)
        ), False
    # The uri too: SQLite may give a deleted thread's id to a new one, at the same version.
    page = (sort, limit, after_key, tuple(extra.items()))
    body = _bodies.get((thread.id, uri), thread.version, page)
    if body is None:
        body = Body(_closed_with(_tree(session, uri, thread, [], sort, limit, after_key), extra))
        # Counted with room for its compressed forms, made on first need.
        _bodies.put((thread.id, uri), thread.version, page, body, size=2 * len(body.raw))
    return body, True


def count_by_uri(
    session: Session | Connection | PlainReads, site: str, uris: Iterable[str]
) -> dict[str, int]:
    """Approved comments per thread URI, read from the threads' rows in one query; unknown
    URIs count 0."""
    uris = list(dict.fromkeys(uris))
    counts = dict.fromkeys(uris, 0)
    if not uris:
        return counts
    bind = session.get_bind() if isinstance(session, Session) else session
    statement = _COUNTS_ARRAY if bind.dialect.name == "postgresql" else _COUNTS
    counts.update((uri, n) for uri, n in session.execute(statement, {"site": site, "uris": uris}))
    return counts
