"""Disqus's XML export: <thread> elements, then <post> elements that name their thread."""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree.ElementTree import Element

from ..models import Status
from .records import (
    Progress,
    Record,
    Refused,
    SourceComment,
    SourceThread,
    content_origin,
    parse_time,
)
from .xmlstream import flag, records, text_of

NS = {"d": "http://disqus.com", "dsq": "http://disqus.com/disqus-internals"}
DSQ_ID = "{http://disqus.com/disqus-internals}id"
THREAD, POST = "{http://disqus.com}thread", "{http://disqus.com}post"


def read(path: str, progress: Progress | None = None) -> Iterator[Record]:
    threads: dict[str, SourceThread] = {}
    deleted_threads: set[str] = set()
    for element in records(
        path, progress, depth=1, name="Disqus", root="{http://disqus.com}disqus"
    ):
        if element.tag == THREAD:
            ident = element.get(DSQ_ID, "")
            link = text_of(element, "d:link", NS)
            if not link:
                continue  # Disqus writes such empty threads; no post can be placed in one
            thread = SourceThread(
                url=link,
                title=text_of(element, "d:title", NS) or None,
                closed=flag(text_of(element, "d:isClosed", NS)),
            )
            threads[ident] = thread
            if flag(text_of(element, "d:isDeleted", NS)):
                deleted_threads.add(ident)
            yield thread
        elif element.tag == POST:
            yield _post(element, threads, deleted_threads)


def _children(element: Element) -> dict[str, Element]:
    """An element's children by tag, read in one pass (a post has a dozen)."""
    return {child.tag.rpartition("}")[2]: child for child in element}


def _text(children: dict[str, Element], name: str) -> str:
    child = children.get(name)
    return child.text.strip() if child is not None and child.text else ""


def _post(element: Element, threads: dict[str, SourceThread], deleted_threads: set[str]) -> Record:
    ident = element.get(DSQ_ID, "")
    fields = _children(element)
    where = f'<post dsq:id="{ident}">' if ident else f"<post> with <id>{_text(fields, 'id')}</id>"
    ref = fields.get("thread")
    thread_id = ref.get(DSQ_ID, "") if ref is not None else ""
    thread = threads.get(thread_id)
    if thread is None:
        return Refused(where, f'its thread (dsq:id "{thread_id}") is not in the file')
    try:
        created = parse_time(_text(fields, "createdAt"))
    except ValueError as exc:
        return Refused(where, f"<createdAt>: {exc}")
    text = _text(fields, "message")
    if flag(_text(fields, "isSpam")):
        status = Status.spam
    elif flag(_text(fields, "isDeleted")) or thread_id in deleted_threads:
        status = Status.deleted
    else:
        status = Status.approved
    author = _children(fields["author"]) if "author" in fields else {}
    parent = fields.get("parent")
    parent_id = parent.get(DSQ_ID) if parent is not None else None
    name = _text(author, "name") or _text(author, "username") or None
    return SourceComment(
        origin=f"disqus:{ident}"
        if ident
        else content_origin("disqus", thread.url, created.isoformat(), _text(author, "name"), text),
        thread_url=thread.url,
        thread_title=thread.title,
        thread_closed=thread.closed,
        where=where,
        text=text,
        text_format="html",
        created=created,
        status=status,
        parent_origin=f"disqus:{parent_id}" if parent_id else None,
        author=name,
        email=_text(author, "email") or None,
        address=_text(fields, "ipAddress") or None,
    )
