"""Atom 1.0 feeds of approved comments: one thread's, and the site's most recent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Response, render_template, request
from sqlalchemy import Row, bindparam, select

from .api.requests import site as requested_site
from .api.requests import site_config
from .config import current_settings
from .errors import ValidationFailed
from .extensions import db
from .httpcache import Body, conditional
from .models import Comment, Status, Thread, utcnow
from .validation import uri_problem

bp = Blueprint("feeds", __name__, url_prefix="/feed")

ENTRIES = 50  # the newest comments a feed carries
MAX_AGE = 300  # seconds readers and proxies may keep a feed
# Fresh for MAX_AGE, then served stale for up to an hour while a proxy asks again.
CACHE_CONTROL = f"public, max-age={MAX_AGE}, stale-while-revalidate={MAX_AGE * 12}"

_COLUMNS = (
    Comment.id,
    Comment.author,
    Comment.html,
    Comment.created,
    Comment.edited,
    Comment.moderator_id,
    Thread.uri,
    Thread.title,
)
_THREAD_ENTRIES = (
    select(*_COLUMNS)
    .join(Thread)
    .where(
        Thread.site == bindparam("site"),
        Thread.uri == bindparam("uri"),
        Comment.status == Status.approved,
    )
    .order_by(Comment.created.desc(), Comment.id.desc())
    .limit(ENTRIES)
)
_RECENT_ENTRIES = (
    select(*_COLUMNS)
    .join(Thread)
    .where(Thread.site == bindparam("site"), Comment.status == Status.approved)
    .order_by(Comment.created.desc(), Comment.id.desc())
    .limit(ENTRIES)
)


def _stamp(value: datetime) -> str:
    return value.isoformat(timespec="seconds").replace("+00:00", "Z")


def _public_url() -> tuple[str, str]:
    """The service's public base URL, and its host (what the feeds' tag URIs are minted on)."""
    public = current_settings().public_url
    return public, urlsplit(public).hostname or "localhost"


def _entries(rows: Sequence[Row[*tuple[Any, ...]]], public: str, host: str) -> list[dict[str, Any]]:
    return [
        {
            # A tag URI: the same comment keeps the same id whatever its URL or text becomes.
            "id": f"tag:{host},{row.created:%Y-%m-%d}:comment-{row.id}",
            "title": f"{row.author or 'Anonymous'} on {row.title or row.uri}",
            "author": row.author or "Anonymous",
            "published": _stamp(row.created),
            "updated": _stamp(row.edited or row.created),
            "link": f"{public}/comments?{urlencode({'uri': row.uri, 'show': row.id})}"
            f"#comment-{row.id}",
            "html": row.html,
        }
        for row in rows
    ]


def _feed(
    template: str,
    *,
    feed_id: str,
    title: str,
    self_url: str,
    alternate: str,
    entries: list[dict[str, Any]],
) -> Response:
    updated = max((e["updated"] for e in entries), default=_stamp(utcnow()))
    body = render_template(
        template,
        feed_id=feed_id,
        title=title,
        self_url=self_url,
        alternate=alternate,
        entries=entries,
        updated=updated,
    )
    return conditional(Body(body.encode()), "application/atom+xml; charset=utf-8", CACHE_CONTROL)


@bp.get("/thread.atom")
def thread_feed() -> Response:
    """The newest approved comments of one thread."""
    uri = request.args.get("uri", "")
    problem = uri_problem(uri, site_config().allowed_origins)
    if problem:
        raise ValidationFailed({"uri": [problem]})
    site = requested_site()
    public, host = _public_url()
    rows = db.session.execute(_THREAD_ENTRIES, {"site": site, "uri": uri}).all()
    thread_title = db.session.execute(
        select(Thread.title).where(Thread.site == site, Thread.uri == uri)
    ).scalar_one_or_none()
    query = urlencode({"uri": uri, **({"site": site} if site != "default" else {})})
    return _feed(
        "feeds/feed.xml",
        feed_id=f"tag:{host},2026:thread:{site}:{uri}",
        title=f"Comments on {thread_title or uri}",
        self_url=f"{public}/feed/thread.atom?{query}",
        alternate=f"{public}/comments?{query}",
        entries=_entries(rows, public, host),
    )


@bp.get("/recent.atom")
def recent_feed() -> Response:
    """The site's newest approved comments, whatever their thread."""
    site = requested_site()
    public, host = _public_url()
    rows = db.session.execute(_RECENT_ENTRIES, {"site": site}).all()
    return _feed(
        "feeds/feed.xml",
        feed_id=f"tag:{host},2026:recent:{site}",
        title="Recent comments",
        self_url=f"{public}/feed/recent.atom"
        + (f"?{urlencode({'site': site})}" if site != "default" else ""),
        alternate=f"{public}/demo/posts",
        entries=_entries(rows, public, host),
    )
