"""Blogger's Atom export: the classic "Back up content" file and the newer Takeout feed.

Both are one flat list of <entry> elements; posts and comments are told apart by their kind
(a category in the classic file, <blogger:type> in Takeout's).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from xml.etree.ElementTree import Element

from ..models import Status
from .records import Progress, Record, Refused, SourceComment, SourceThread, parse_time
from .xmlstream import flag, records, text_of

ATOM = "{http://www.w3.org/2005/Atom}"
NS = {
    "a": "http://www.w3.org/2005/Atom",
    "thr": "http://purl.org/syndication/thread/1.0",
    "gd": "http://schemas.google.com/g/2005",
    "app": "http://www.w3.org/2007/app",
    "b": "http://schemas.google.com/blogger/2018",
}
KIND_SCHEME = "http://schemas.google.com/g/2005#kind"
KIND_PREFIX = "http://schemas.google.com/blogger/2008/kind#"
NO_EMAIL = "noreply@blogger.com"  # what Blogger writes for every commenter
TAKEOUT_STATUSES = {
    "LIVE": Status.approved,
    "PENDING": Status.pending,
    "SPAM": Status.spam,
    "DELETED": Status.deleted,
    "TRASHED": Status.deleted,
}


def read(path: str, progress: Progress | None = None) -> Iterator[Record]:
    posts: dict[str, SourceThread] = {}  # a post's id (the part after ".post-") -> its thread
    waiting: list[Any] = []  # comments met before their post (Takeout names the post by id only)
    for entry in records(path, progress, depth=1, name="Blogger", root=ATOM + "feed"):
        if entry.tag != ATOM + "entry":
            continue
        kind = _kind(entry)
        if kind in ("post", "page"):
            thread = _post(entry)
            if thread is not None:
                posts[_short_id(text_of(entry, "a:id", NS))] = thread
                yield thread
        elif kind == "comment":
            record = _comment(entry, posts)
            if record is None:
                waiting.append(entry)  # already out of the parsed tree: it holds only itself
            else:
                yield record
    for entry in waiting:
        yield _comment(entry, posts) or Refused(_where(entry), "its post is not in the file")


def _kind(entry: Element) -> str:
    takeout = text_of(entry, "b:type", NS)
    if takeout:
        return takeout.lower()
    for category in entry.iterfind("a:category", NS):
        if category.get("scheme") == KIND_SCHEME:
            return category.get("term", "").removeprefix(KIND_PREFIX)
    return ""


def _short_id(ident: str) -> str:
    """ "tag:blogger.com,1999:blog-1.post-42" -> "42" (Takeout writes the bare number too)."""
    return ident.rsplit(".post-", 1)[-1].rsplit("-", 1)[-1]


def _alternate(entry: Element) -> str:
    for link in entry.iterfind("a:link", NS):
        if link.get("rel") == "alternate":
            return link.get("href", "")
    return ""


def _post(entry: Element) -> SourceThread | None:
    url = _alternate(entry) or text_of(entry, "b:filename", NS)
    if not url or text_of(entry, "app:control/app:draft", NS) == "yes":
        return None  # a draft: never public, so nobody commented on it
    return SourceThread(url=url, title=text_of(entry, "a:title", NS) or None)


def _where(entry: Element) -> str:
    return f"<entry> {text_of(entry, 'a:id', NS)}"


def _comment(entry: Element, posts: dict[str, SourceThread]) -> Record | None:
    where = _where(entry)
    ident = text_of(entry, "a:id", NS)
    if not ident:
        return Refused(where, "it has no <id>")
    reply_to = entry.find("thr:in-reply-to", NS)
    post_id = _short_id(
        text_of(entry, "b:parent", NS) or (reply_to.get("ref", "") if reply_to is not None else "")
    )
    thread = posts.get(post_id)
    if thread is None:
        if reply_to is None or not reply_to.get("href"):
            return None  # wait for the post, which may come later in the file
        thread = SourceThread(url=reply_to.get("href", ""))  # there, as checked above
    try:
        created = parse_time(text_of(entry, "a:published", NS))
    except ValueError as exc:
        return Refused(where, f"<published>: {exc}")
    author = entry.find("a:author", NS)
    email = text_of(author, "a:email", NS)
    prefix = ident.rsplit(".post-", 1)[0] if ".post-" in ident else ident
    parent = _parent_comment(entry)
    return SourceComment(
        origin="blogger:" + ident,
        thread_url=thread.url,
        thread_title=thread.title,
        where=where,
        text=text_of(entry, "a:content", NS),
        text_format="html",
        created=created,
        status=_status(entry),
        parent_origin=f"blogger:{prefix}.post-{parent}" if parent else None,
        author=text_of(author, "a:name", NS) or None,
        email=None if email.lower() == NO_EMAIL else email or None,
        website=text_of(author, "a:uri", NS) or None,
    )


def _parent_comment(entry: Element) -> str:
    """The comment this one answers: <blogger:inReplyTo> in Takeout, a "related" link ending in
    /comments/default/<id> in the classic file."""
    takeout = text_of(entry, "b:inReplyTo", NS)
    if takeout:
        return _short_id(takeout)
    for link in entry.iterfind("a:link", NS):
        href = link.get("href", "")
        if link.get("rel") == "related" and "/comments/default/" in href:
            return href.rstrip("/").rsplit("/", 1)[-1]
    return ""


def _status(entry: Element) -> Status:
    for prop in entry.iterfind("gd:extendedProperty", NS):
        if prop.get("name") == "blogger.contentRemoved" and flag(prop.get("value", "")):
            return Status.deleted  # kept as a placeholder, so its replies stay in place
    if flag(text_of(entry, "b:trashed", NS)):
        return Status.deleted
    return TAKEOUT_STATUSES.get(text_of(entry, "b:status", NS).upper(), Status.approved)
