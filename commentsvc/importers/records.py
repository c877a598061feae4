"""What every reader of an export file yields: threads, comments and refused records."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO

from ..errors import BadImportFile
from ..models import Status

Progress = Callable[[int, int], None]  # (done, total), in bytes of the file


@dataclass
class SourceThread:
    """A post of the old blog; its comments name it by `url`."""

    url: str
    title: str | None = None
    closed: bool = False
    created: datetime | None = None  # our own export keeps it; other sources' posts have theirs


@dataclass
class SourceSubscription:
    """A reader's reply notifications for one comment, as our own export keeps them."""

    created: datetime
    offered: datetime | None = None  # when the opt-in mail was queued
    confirmed: datetime | None = None
    unsubscribed: datetime | None = None


@dataclass
class SourceVote:
    """One reader's vote, as our own export keeps it: keyed hashes, never the reader."""

    voter: str
    address: str
    value: int
    created: datetime


@dataclass
class SourceComment:
    origin: str  # "format:source id", or "sha256:..." of content and date
    thread_url: str
    where: str  # how to find it in the file: element and id, or line
    text: str
    text_format: str  # "html" or "markdown"
    created: datetime  # timezone-aware
    status: Status = Status.approved
    parent_origin: str | None = None
    author: str | None = None
    email: str | None = None
    website: str | None = None
    address: str | None = None  # as the source has it; only its anonymised form is stored
    edited: datetime | None = None
    held_reason: str | None = None
    score: int = 0
    moderator_email: str | None = None  # a moderator's reply, in our own export
    thread_title: str | None = None
    thread_closed: bool = False
    lang: str | None = None  # the language it was posted in (our own export)
    notify: bool = False  # its author asked to hear of replies (our own export)
    subscription: SourceSubscription | None = None
    votes: list[SourceVote] = field(default_factory=list)


@dataclass
class Refused:
    """A record of the file that cannot be imported, and why."""

    where: str
    reason: str


Record = SourceThread | SourceComment | Refused
Reader = Callable[[str, Progress | None], Iterator[Record]]


def content_origin(*parts: object) -> str:
    """The origin of a comment whose source gives it no id: a digest of what it is."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8", "replace"))
    return "sha256:" + digest.hexdigest()[:40]


def utc(value: datetime) -> datetime:
    """A naive time is taken as UTC (the sources that write one mean it)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_time(value: str | None) -> datetime:
    """ISO 8601 / RFC 3339 ("2008-11-11T16:10:00.000-08:00", "...Z", "2014-01-14 17:32:12")."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("no date")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return utc(datetime.fromisoformat(text))
    except (ValueError, OverflowError):
        raise ValueError(f"not a date: {value.strip()[:40]!r}") from None


class ProgressReader:
    """A binary file that reports how far it has been read."""

    def __init__(self, path: str, progress: Progress | None):
        self.file: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed by close()
        self.total = os.fstat(self.file.fileno()).st_size
        self.done = 0
        self.progress = progress

    def read(self, size: int = -1) -> bytes:
        data = self.file.read(size)
        self.done += len(data)
        if self.progress is not None:
            self.progress(self.done, self.total)
        return data

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> ProgressReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def a_or_an(name: str) -> str:
    """ "an Isso", "a Disqus": a format's name as the messages say it."""
    return ("an " if name[0] in "AEIOU" else "a ") + name


def optional_text(value: Any) -> str | None:
    """A field that may be missing or empty in a source, as text or None."""
    return str(value) if value not in (None, "") else None


def load_json(path: str, name: str) -> Any:
    """A JSON file, or errors.BadImportFile saying why it is not one."""
    name = a_or_an(name)
    try:
        with open(path, "rb") as fh:
            return json.loads(fh.read().decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise BadImportFile(
            f"this is not {name} export: not UTF-8 text (byte {exc.start})"
        ) from None
    except json.JSONDecodeError as exc:
        raise BadImportFile(
            f"this is not {name} export: not JSON, or cut short "
            f"({exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from None
    except RecursionError:
        raise BadImportFile(f"this is not {name} export: JSON nested too deeply") from None
