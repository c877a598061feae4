"""commentsvc's own export format (docs/export-format.md): written by `commentsvc export FILE`,
read back by `commentsvc import commentsvc FILE`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import BadImportFile
from ..i18n import parse_language
from ..models import Comment, Moderator, Status, Subscription, Thread, Vote
from ..render import TEXT_FORMATS
from ..threads import iso_time
from ..tokens import keyed_hash
from .jsonstream import members
from .records import (
    Progress,
    ProgressReader,
    Record,
    Refused,
    SourceComment,
    SourceSubscription,
    SourceThread,
    SourceVote,
    optional_text,
    parse_time,
)

FORMAT, VERSION = "commentsvc-export", 1
MAX_SCORE = 2**31 - 1  # what every backend's INTEGER holds


def export_source(secret_key: str) -> str:
    """This instance's name in its exports' origins: stable, and telling nothing of the key."""
    return keyed_hash(secret_key, "export source", 16)


def own_prefix(source: str) -> str:
    """How the origins of the comments posted on the instance `source` begin."""
    return f"commentsvc:{source}:"


def export_site(
    session: Session,
    site: str,
    out: IO[str],
    source: str,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int]:
    """Write every thread and comment of `site` as JSON, a thread at a time; (threads,
    comments) written."""
    total = session.execute(
        select(func.count()).select_from(Comment).join(Thread).where(Thread.site == site)
    ).scalar_one()
    header = {
        "format": FORMAT,
        "version": VERSION,
        "site": site,
        "exported": iso_time(datetime.now(UTC)),
        "source": source,
    }
    out.write(json.dumps(header, ensure_ascii=False)[:-1] + ', "threads": [')
    moderators = dict(session.execute(select(Moderator.id, Moderator.email)).all())
    extras = _Extras(
        subscriptions={
            s.comment_id: _subscription(s)
            for s in session.execute(
                select(Subscription).join(Comment).join(Thread).where(Thread.site == site)
            ).scalars()
        },
        votes=_votes(session, site),
        moderators=moderators,
        source=source,
    )
    threads = comments = 0
    rows = session.execute(
        select(Thread, Comment)
        .join(Comment, Comment.thread_id == Thread.id)
        .where(Thread.site == site)
        .order_by(Thread.id, Comment.id)
        .execution_options(yield_per=1000)
    )
    current, batch = None, []
    for thread, comment in rows:
        if current is not None and thread.id != current.id:
            _write_thread(out, current, batch, first=threads == 0)
            threads += 1
            batch = []
        current = thread
        batch.append(_comment(comment, extras))
        comments += 1
        if progress is not None:
            progress(comments, total)
    if current is not None:
        _write_thread(out, current, batch, first=threads == 0)
        threads += 1
    out.write("\n]}\n")
    return threads, comments


def _write_thread(
    out: IO[str], thread: Thread, comments: list[dict[str, Any]], *, first: bool
) -> None:
    item = {
        "uri": thread.uri,
        "title": thread.title,
        "closed": thread.closed,
        "created": iso_time(thread.created),
        "comments": comments,
    }
    out.write(("" if first else ",") + "\n" + json.dumps(item, ensure_ascii=False))


@dataclass
class _Extras:
    """What an exported comment carries from other tables, by comment id."""

    subscriptions: dict[int, dict[str, Any]]
    votes: dict[int, list[dict[str, Any]]]
    moderators: dict[int, str]
    source: str


def _subscription(subscription: Subscription) -> dict[str, Any]:
    return {
        "created": iso_time(subscription.created),
        "offered": iso_time(subscription.confirm_mailed),
        "confirmed": iso_time(subscription.confirmed),
        "unsubscribed": iso_time(subscription.unsubscribed),
    }


def _votes(session: Session, site: str) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {}
    rows = session.execute(
        select(Vote).join(Comment).join(Thread).where(Thread.site == site).order_by(Vote.id)
    ).scalars()
    for vote in rows:
        found.setdefault(vote.comment_id, []).append(
            {
                "voter": vote.voter,
                "address": vote.address,
                "value": vote.value,
                "created": iso_time(vote.created),
            }
        )
    return found


def _comment(comment: Comment, extras: _Extras) -> dict[str, Any]:
    return {
        "id": comment.id,
        "parent": comment.parent_id,
        "status": comment.status.value,
        "created": iso_time(comment.created),
        "edited": iso_time(comment.edited),
        "author": comment.author,
        "email": comment.email,
        "website": comment.website,
        "text": comment.text,
        "text_format": comment.text_format,
        "held_reason": comment.held_reason,
        "score": comment.score,
        "address": comment.remote_addr,
        "moderator": extras.moderators.get(comment.moderator_id) if comment.moderator_id else None,
        "origin": comment.origin or f"{own_prefix(extras.source)}{comment.id}",
        "lang": comment.lang,
        "notify": comment.notify,
        "subscription": extras.subscriptions.get(comment.id),
        "votes": extras.votes.get(comment.id, []),
    }


def read(path: str, progress: Progress | None = None) -> Iterator[Record]:
    header: dict[str, Any] = {}
    number = 0
    with ProgressReader(path, progress) as reader:
        for key, value in members(reader, "commentsvc", "threads"):
            if key != "threads":
                header[key] = value
                if key in ("format", "version"):
                    _check(header, complete=False)
                continue
            yield from _thread(value, number)
            number += 1
    _check(header, complete=True)


def _check(header: dict[str, Any], *, complete: bool) -> None:
    """Refuse a file that is not our export, or of a version this one cannot read; a file whose
    threads come before its version is judged at its end (the import is then rolled back)."""
    if ("format" in header or complete) and header.get("format") != FORMAT:
        raise BadImportFile(f'this is not a commentsvc export (no "format": "{FORMAT}" at its top)')
    if ("version" in header or complete) and header.get("version") != VERSION:
        raise BadImportFile(
            f"this export is of version {header.get('version')!r}; this "
            f"commentsvc reads version {VERSION}: upgrade it to import the file"
        )


def _thread(item: Any, number: int) -> Iterator[Record]:
    if not isinstance(item, dict) or not isinstance(item.get("uri"), str):
        yield Refused(f"thread {number}", "not a thread with a uri")
        return
    try:
        created = parse_time(item.get("created"))
    except ValueError:
        created = None
    thread = SourceThread(
        url=item["uri"],
        title=optional_text(item.get("title")),
        closed=item.get("closed") is True,
        created=created,
    )
    yield thread
    comments = found if isinstance(found := item.get("comments"), list) else []
    origins = {
        c["id"]: c.get("origin")
        for c in comments
        if isinstance(c, dict) and isinstance(c.get("id"), int)
    }
    for comment in comments:
        try:
            yield _read_comment(comment, thread, origins)
        except (TypeError, ValueError, AttributeError, OverflowError) as exc:
            yield Refused(
                f"thread {thread.url}, comment id {str(comment.get('id'))[:20]}",
                f"a field of the wrong kind ({exc})",
            )


def _read_comment(item: Any, thread: SourceThread, origins: dict[int, Any]) -> Record:
    if not isinstance(item, dict):
        return Refused(f"thread {thread.url}", "a comment that is not an object")
    where = f"thread {thread.url}, comment id {item.get('id')}"
    try:
        status = Status(item.get("status"))
        created = parse_time(item.get("created"))
        edited = parse_time(item["edited"]) if item.get("edited") else None
    except (ValueError, TypeError) as exc:
        return Refused(where, str(exc) or "a bad status or date")
    text_format = item.get("text_format", "markdown")
    if text_format not in TEXT_FORMATS or not isinstance(item.get("origin"), str):
        return Refused(where, "no origin, or an unknown text_format")
    parent = item.get("parent")
    if parent is not None and not isinstance(parent, int):
        return Refused(where, "its parent is not a comment id")
    score = item.get("score")
    if not isinstance(score, int) or abs(score) > MAX_SCORE:
        score = 0
    return SourceComment(
        origin=item["origin"],
        thread_url=thread.url,
        thread_title=thread.title,
        thread_closed=thread.closed,
        where=where,
        text=str(item.get("text") or ""),
        text_format=text_format,
        created=created,
        edited=edited,
        status=status,
        parent_origin=origins.get(parent, f"missing:{parent}") if parent is not None else None,
        author=optional_text(item.get("author")),
        email=optional_text(item.get("email")),
        website=optional_text(item.get("website")),
        address=optional_text(item.get("address")),
        held_reason=optional_text(item.get("held_reason")),
        score=score,
        moderator_email=optional_text(item.get("moderator")),
        lang=_language(item.get("lang")),
        notify=item.get("notify") is True,
        subscription=_read_subscription(item.get("subscription")),
        votes=[vote for v in _list(item.get("votes")) if (vote := _read_vote(v))],
    )


# The fields below came later in version 1: a file from before has none of them, and a
# value that is not what this page says is left out (the comment itself is kept).


def _language(value: Any) -> str | None:
    try:
        return parse_language(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _read_subscription(value: Any) -> SourceSubscription | None:
    if not isinstance(value, dict):
        return None
    try:
        return SourceSubscription(
            created=parse_time(value.get("created")),
            offered=_time_or_none(value.get("offered")),
            confirmed=_time_or_none(value.get("confirmed")),
            unsubscribed=_time_or_none(value.get("unsubscribed")),
        )
    except ValueError:
        return None


def _read_vote(value: Any) -> SourceVote | None:
    if not isinstance(value, dict):
        return None
    voter, address, number = value.get("voter"), value.get("address"), value.get("value")
    if not (isinstance(voter, str) and isinstance(address, str)) or number not in (1, -1):
        return None
    if not (0 < len(voter) <= 32 and 0 < len(address) <= 32) or isinstance(number, bool):
        return None
    try:
        return SourceVote(voter, address, number, parse_time(value.get("created")))
    except ValueError:
        return None


def _time_or_none(value: Any) -> datetime | None:
    return parse_time(value) if value is not None else None
