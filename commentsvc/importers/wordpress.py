"""WordPress's export (WXR): <item> posts, each with its <wp:comment> elements."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from xml.etree.ElementTree import Element

from ..models import Status
from .records import Progress, Record, Refused, SourceComment, SourceThread, utc
from .xmlstream import records, text_of

WP_NAMESPACE = "http://wordpress.org/export/"
STATUSES = {
    "1": Status.approved,
    "approve": Status.approved,
    "0": Status.pending,
    "hold": Status.pending,
    "spam": Status.spam,
    "trash": Status.deleted,
    "post-trashed": Status.deleted,
}
SKIPPED_TYPES = ("pingback", "trackback")


# Prefixes WordPress writes; its exports of 2008 used "excerpt:" without declaring it.
PREFIXES = {
    b"excerpt": b"http://wordpress.org/export/1.0/excerpt/",
    b"content": b"http://purl.org/rss/1.0/modules/content/",
    b"wfw": b"http://wellformedweb.org/CommentAPI/",
    b"dc": b"http://purl.org/dc/elements/1.1/",
}
_WP = re.compile(r"\{(http://wordpress\.org/export/[0-9.]+/)\}")
_RSS_TAG = re.compile(rb"<rss\b[^>]*>")


def _declare_prefixes(head: bytes) -> bytes:
    """Declare on <rss> the prefixes WordPress uses that the file left undeclared."""
    match = _RSS_TAG.search(head)
    if match is None:
        return head
    missing = b"".join(
        b' xmlns:%s="%s"' % (prefix, uri)
        for prefix, uri in PREFIXES.items()
        if b"xmlns:" + prefix + b"=" not in match[0]
    )
    return head[: match.end() - 1] + missing + head[match.end() - 1 :]


def read(path: str, progress: Progress | None = None) -> Iterator[Record]:
    wp: dict[str, str] = {}
    for item in records(
        path,
        progress,
        depth=2,
        name="WordPress",
        root="rss",
        namespace=WP_NAMESPACE,
        mend=_declare_prefixes,
    ):
        if item.tag != "item":
            continue
        if not wp:  # the namespace's version ("1.0", "1.2") differs between WordPress releases
            wp["wp"] = next(
                (found[1] for el in item.iter() if (found := _WP.match(el.tag))),
                WP_NAMESPACE + "1.0/",
            )
        link = text_of(item, "link")
        comments = item.findall("wp:comment", wp)
        if not comments:
            continue
        if not link:
            for comment in comments:
                yield Refused(_where(comment, wp), "its post has no <link>")
            continue
        thread = SourceThread(
            url=link,
            title=text_of(item, "title") or None,
            closed=text_of(item, "wp:comment_status", wp) == "closed",
        )
        yield thread
        for comment in comments:
            yield _comment(comment, thread, wp)


def _where(comment: Element, wp: dict[str, str]) -> str:
    return f"<wp:comment> {text_of(comment, 'wp:comment_id', wp)}"


def _comment(element: Element, thread: SourceThread, wp: dict[str, str]) -> Record:
    where = _where(element, wp)
    ident = text_of(element, "wp:comment_id", wp)
    if not ident:
        return Refused(where, "it has no <wp:comment_id>")
    kind = text_of(element, "wp:comment_type", wp)
    if kind in SKIPPED_TYPES:
        return Refused(where, f"a {kind}, not a comment")
    approved = text_of(element, "wp:comment_approved", wp).lower()
    if approved not in STATUSES:
        return Refused(where, f"unknown <wp:comment_approved> {approved!r}")
    try:
        created = _date(
            text_of(element, "wp:comment_date_gmt", wp), text_of(element, "wp:comment_date", wp)
        )
    except ValueError as exc:
        return Refused(where, str(exc))
    parent = text_of(element, "wp:comment_parent", wp)
    # Comment ids are counted per blog; with the post's link, two blogs' ids (and the copies
    # of one comment that some exports put under two posts) stay apart.
    base = f"wordpress:{thread.url}#"
    return SourceComment(
        origin=f"{base}{ident}",
        thread_url=thread.url,
        thread_title=thread.title,
        thread_closed=thread.closed,
        where=where,
        text=text_of(element, "wp:comment_content", wp),
        text_format="html",
        created=created,
        status=STATUSES[approved],
        parent_origin=f"{base}{parent}" if parent not in ("", "0") else None,
        author=text_of(element, "wp:comment_author", wp) or None,
        email=text_of(element, "wp:comment_author_email", wp) or None,
        website=text_of(element, "wp:comment_author_url", wp) or None,
        address=text_of(element, "wp:comment_author_IP", wp) or None,
    )


def _date(gmt: str, local: str) -> datetime:
    """comment_date_gmt is UTC; a comment without it (older exports write 0000-00-00) has only
    the blog's local time, which the file does not name: it is taken as UTC."""
    for value in (gmt, local):
        if value and not value.startswith("0000"):
            try:
                return utc(datetime.strptime(value, "%Y-%m-%d %H:%M:%S"))
            except ValueError:
                raise ValueError(f"not a date: {value[:40]!r}") from None
    raise ValueError("it has no date")
