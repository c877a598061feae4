"""Disqus's XML export: <thread> elements, then <post> elements that name their thread."""

from __future__ import annotations

from collections.abc import Iterator

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
    for element in records(path, progress, depth=1, name="Disqus",
                           root="{http://disqus.com}disqus"):
        if element.tag == THREAD:
            ident = element.get(DSQ_ID, "")
            link = text_of(element, "d:link", NS)
            if not link:
                continue  # Disqus writes such empty threads; no post can be placed in one
            thread = SourceThread(url=link, title=text_of(element, "d:title", NS) or None,
                                  closed=flag(text_of(element, "d:isClosed", NS)))
            threads[ident] = thread
            if flag(text_of(element, "d:isDeleted", NS)):
                deleted_threads.add(ident)
            yield thread
        elif element.tag == POST:
            yield _post(element, threads, deleted_threads)


def _post(element, threads: dict[str, SourceThread], deleted_threads: set[str]) -> Record:
    ident = element.get(DSQ_ID, "")
    where = (f"<post dsq:id=\"{ident}\">" if ident
             else f"<post> with <id>{text_of(element, 'd:id', NS)}</id>")
    ref = element.find("d:thread", NS)
    thread_id = ref.get(DSQ_ID, "") if ref is not None else ""
    thread = threads.get(thread_id)
    if thread is None:
        return Refused(where, f"its thread (dsq:id \"{thread_id}\") is not in the file")
    try:
        created = parse_time(text_of(element, "d:createdAt", NS))
    except ValueError as exc:
        return Refused(where, f"<createdAt>: {exc}")
    text = text_of(element, "d:message", NS)
    if flag(text_of(element, "d:isSpam", NS)):
        status = Status.spam
    elif flag(text_of(element, "d:isDeleted", NS)) or thread_id in deleted_threads:
        status = Status.deleted
    else:
        status = Status.approved
    author = element.find("d:author", NS)
    parent = element.find("d:parent", NS)
    parent_id = parent.get(DSQ_ID) if parent is not None else None
    return SourceComment(
        origin=f"disqus:{ident}" if ident else content_origin(
            "disqus", thread.url, created.isoformat(), text_of(author, "d:name", NS), text),
        thread_url=thread.url, thread_title=thread.title, thread_closed=thread.closed,
        where=where, text=text, text_format="html", created=created, status=status,
        parent_origin=f"disqus:{parent_id}" if parent_id else None,
        author=text_of(author, "d:name", NS) or text_of(author, "d:username", NS) or None,
        email=text_of(author, "d:email", NS) or None,
        address=text_of(element, "d:ipAddress", NS) or None,
    )
