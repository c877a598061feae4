"""Isso: its SQLite database file, or its "generic" JSON import file. Texts are Markdown."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from ..errors import BadImportFile
from ..models import Status
from .records import (
    Progress,
    Record,
    Refused,
    SourceComment,
    SourceThread,
    content_origin,
    load_json,
    optional_text,
    utc,
)

SQLITE_HEADER = b"SQLite format 3\x00"
MODES = {1: Status.approved, 2: Status.pending, 4: Status.deleted}


def read(path: str, progress: Progress | None = None) -> Iterator[Record]:
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise BadImportFile(f"cannot read the file: {exc.strerror}") from None
    if head == SQLITE_HEADER:
        yield from _database(path, progress)
    else:
        yield from _generic(path, progress)


def _database(path: str, progress: Progress | None) -> Iterator[Record]:
    # Read-only and immutable: the import never changes, nor locks, the Isso file.
    db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    try:
        try:
            total = db.execute("SELECT count(*) FROM comments").fetchone()[0]
            columns = {row[1] for row in db.execute("PRAGMA table_info(comments)")}
            threads = {
                tid: SourceThread(url=uri, title=title or None)
                for tid, uri, title in db.execute("SELECT id, uri, title FROM threads")
            }
        except sqlite3.DatabaseError as exc:
            raise BadImportFile(f"this is not an Isso database ({exc})") from None
        if not {"tid", "id", "parent", "created", "mode", "text"} <= columns:
            raise BadImportFile(
                "this is not an Isso database (its comments table lacks Isso's columns)"
            )
        yield from threads.values()
        wanted = [
            "tid",
            "id",
            "parent",
            "created",
            "modified",
            "mode",
            "remote_addr",
            "text",
            "author",
            "email",
            "website",
            "likes",
            "dislikes",
        ]
        select = ", ".join(c if c in columns else f"NULL AS {c}" for c in wanted)
        for done, row in enumerate(db.execute(f"SELECT {select} FROM comments ORDER BY id"), 1):  # noqa: S608 - names from the list above
            if progress is not None:
                progress(done, total)
            yield _row(dict(zip(wanted, row, strict=True)), threads)
    finally:
        db.close()


def _row(row: dict[str, Any], threads: dict[int, SourceThread]) -> Record:
    where = f"comments row id {row['id']}"
    thread = threads.get(row["tid"])
    if thread is None:
        return Refused(where, f"its thread (id {row['tid']}) is not in the database")
    if row["mode"] not in MODES:
        return Refused(where, f"unknown mode {row['mode']!r}")
    try:
        created = datetime.fromtimestamp(float(row["created"]), UTC)
        edited = datetime.fromtimestamp(float(row["modified"]), UTC) if row["modified"] else None
    except (TypeError, ValueError, OverflowError, OSError):
        return Refused(where, f"not a time: {row['created']!r}")
    # Isso's ids are its database's; the thread keeps two databases' ids apart.
    origin = f"isso:{thread.url}#"
    return SourceComment(
        origin=f"{origin}{row['id']}",
        thread_url=thread.url,
        thread_title=thread.title,
        where=where,
        text=row["text"] or "",
        text_format="markdown",
        created=created,
        edited=edited,
        status=MODES[row["mode"]],
        parent_origin=f"{origin}{row['parent']}" if row["parent"] is not None else None,
        author=row["author"] or None,
        email=row["email"] or None,
        website=row["website"] or None,
        address=row["remote_addr"] or None,
        score=int(row["likes"] or 0) - int(row["dislikes"] or 0),
    )


def _generic(path: str, progress: Progress | None) -> Iterator[Record]:
    data = load_json(path, "Isso")
    if not isinstance(data, list) or not all(isinstance(t, dict) and "comments" in t for t in data):
        raise BadImportFile(
            "this is neither an Isso database nor Isso's JSON import file "
            "(a list of threads, each with its comments)"
        )
    for number, item in enumerate(data):
        uri, title = str(item.get("id") or ""), item.get("title")
        if not isinstance(item["comments"], list):
            yield Refused(f"thread {number}", "its comments are not a list")
            continue
        if not uri:
            for index, _ in enumerate(item["comments"]):
                yield Refused(f"thread {number}, comment {index}", "the thread has no id (uri)")
            continue
        thread = SourceThread(url=uri, title=str(title) if title else None)
        yield thread
        for comment in item.get("comments") or ():
            yield _generic_comment(comment, thread, number)
        if progress is not None:
            progress(number + 1, len(data))


def _generic_comment(comment: Any, thread: SourceThread, number: int) -> Record:
    if not isinstance(comment, dict):
        return Refused(f"thread {number} ({thread.url})", "a comment that is not an object")
    where = f"thread {thread.url}, comment id {comment.get('id')}"
    try:
        created = utc(datetime.strptime(str(comment.get("created")), "%Y-%m-%d %H:%M:%S"))
    except ValueError:
        return Refused(where, f"not a date: {str(comment.get('created'))[:40]!r}")
    text = str(comment.get("text") or "")
    return SourceComment(
        # The file's ids count from 0 in each thread: no id of the comment's own.
        origin=content_origin("isso", thread.url, created.isoformat(), comment.get("author"), text),
        thread_url=thread.url,
        thread_title=thread.title,
        where=where,
        text=text,
        text_format="markdown",
        created=created,
        author=optional_text(comment.get("author")),
        email=optional_text(comment.get("email")),
        website=optional_text(comment.get("website")),
        address=optional_text(comment.get("remote_addr")),
    )
