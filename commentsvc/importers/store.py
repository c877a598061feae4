"""Storing what a reader yields: threads found or created, comments cleaned, sanitised and
inserted in batches, parents linked, all inside the caller's one transaction."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from multiprocessing.pool import Pool
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from .. import antispam, tokens
from ..comments import anonymise_address, avatar_seed
from ..config import Settings
from ..models import (
    Comment,
    Moderator,
    Status,
    Subscription,
    Thread,
    Vote,
    bump_thread_versions,
    recount_approved,
    utcnow,
)
from ..render import render_source
from ..validation import MAX_AUTHOR, MAX_TITLE, clean_email, clean_name, clean_website, uri_problem
from .native import export_source, own_prefix
from .records import (
    Record,
    Refused,
    SourceComment,
    SourceSubscription,
    SourceThread,
    content_origin,
)

BATCH = 1000
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # no database keeps NUL in text

_COMMENTS, _THREADS = cast(Table, Comment.__table__), cast(Table, Thread.__table__)
# Each new id comes back with its row's origin (unique in a batch: a repeat is skipped), so the
# rows may come back in any order: RETURNING in the parameters' order made SQLAlchemy send
# SQLite one INSERT per comment.
_INSERT_COMMENTS = insert(_COMMENTS).returning(_COMMENTS.c.origin, _COMMENTS.c.id)
_INSERT_THREAD = insert(_THREADS).returning(_THREADS.c.id)
_INSERT_SUBSCRIPTIONS = insert(cast(Table, Subscription.__table__))
_INSERT_VOTES = insert(cast(Table, Vote.__table__))
_SET_PARENT = (
    update(_COMMENTS)
    .where(_COMMENTS.c.id == bindparam("child"))
    .values(parent_id=bindparam("parent"))
)


@dataclass
class Report:
    """What an import did, or (in a dry run) would do."""

    format: str
    dry_run: bool = False
    threads_created: int = 0
    threads_reused: int = 0
    imported: Counter[str] = field(default_factory=Counter)  # by status
    skipped: int = 0  # already imported by an earlier run
    refused: list[tuple[str, str]] = field(default_factory=list)
    reattached: list[tuple[str, str]] = field(default_factory=list)  # now at the top level
    changed: Counter[str] = field(default_factory=Counter)  # fields left out, and why
    site_created: str | None = None  # the import named a site there was not yet

    @property
    def comments(self) -> int:
        return sum(self.imported.values())

    def by_status(self) -> str:
        """ "4 approved, 1 deleted": the comments imported, by status."""
        return ", ".join(f"{n} {s}" for s, n in sorted(self.imported.items()))

    def lines(self) -> list[str]:
        statuses = self.by_status()
        lines = [
            f"{'Dry run of an import' if self.dry_run else 'Import'} from {self.format}"
            + (": nothing was saved" if self.dry_run else ""),
            f"Threads: {self.threads_created} created, {self.threads_reused} reused",
            f"Comments: {self.comments} {'to import' if self.dry_run else 'imported'}"
            + (f" ({statuses})" if statuses else "")
            + f", {self.skipped} skipped as already imported",
        ]
        if self.site_created:
            lines.append(
                f"Site {self.site_created} {'would be' if self.dry_run else 'was'} "
                "created, with the install's settings (change them with "
                "`commentsvc site set`)"
            )
        if self.skipped and not self.comments:
            lines.append("Nothing new: every comment of this file was imported before.")
        for what, count in sorted(self.changed.items()):
            lines.append(f"{what}: {count}")
        if self.reattached:
            lines.append(
                f"Replies placed at the top level, their parent missing: {len(self.reattached)}"
            )
            lines += [f"  {where}: {why}" for where, why in self.reattached]
        lines.append(f"Refused: {len(self.refused)}")
        lines += [f"  {where}: {why}" for where, why in self.refused]
        return lines

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "dry_run": self.dry_run,
            "threads_created": self.threads_created,
            "threads_reused": self.threads_reused,
            "imported": dict(self.imported),
            "skipped": self.skipped,
            "changed": dict(self.changed),
            "reattached": self.reattached,
            "refused": self.refused,
        }


def _short(where: str, limit: int = 200) -> str:
    return where if len(where) <= limit else where[: limit - 1] + "…"


def read_uri_map(rows: Iterable[list[str]]) -> dict[str, str]:
    """Old URL -> new thread uri, from the rows of a two-column CSV file."""
    mapping = {}
    for number, row in enumerate(rows, 1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        if len(row) != 2:
            raise ValueError(f"line {number}: two columns expected (old URL, new uri)")
        old, new = row[0].strip(), row[1].strip()
        problem = uri_problem(new)
        if problem:
            raise ValueError(f"line {number}: {new!r}: {problem}")
        mapping[_url_key(old)] = new
    return mapping


def _url_key(url: str) -> str:
    """A URL as the map compares it: without scheme, "www.", case of the host, trailing "/"."""
    parts = urlsplit(url.strip())
    host = parts.netloc.lower().removeprefix("www.")
    return f"{host}{parts.path.rstrip('/')}" + (f"?{parts.query}" if parts.query else "")


class _Derived:
    """derive()'s results made here, read as the workers' are."""

    def __init__(self, results: list[tuple[str, str]]):
        self.results = results

    def get(self) -> list[tuple[str, str]]:
        return self.results


def derive(source: tuple[str, str]) -> tuple[str, str]:
    """What is computed from a comment's text alone: its HTML and its duplicate digest (the
    costly part of an import, so it may run in worker processes)."""
    text, text_format = source
    return render_source(text, text_format), antispam.text_digest(text)


def _subscription_row(comment_id: int, email: str, item: SourceComment) -> dict[str, Any]:
    subscription = cast(SourceSubscription, item.subscription)
    return {
        "comment_id": comment_id,
        "email": email.lower(),
        "created": subscription.created,
        # One whose opt-in mail was never sent counts as offered: an import mails nobody,
        # then or later.
        "confirm_mailed": subscription.offered or subscription.created,
        "confirmed": subscription.confirmed,
        "unsubscribed": subscription.unsubscribed,
    }


class Loader:
    """One import into one site; `add` each record, then `finish`."""

    def __init__(
        self,
        session: Session,
        settings: Settings,
        *,
        site: str,
        report: Report,
        uri_map: Mapping[str, str] | None = None,
        status: Status | None = None,
        pool: Pool | None = None,
    ):
        self.pool = pool  # worker processes for derive(), or None to derive here
        self.session, self.secret, self.site = session, settings.secret_key, site
        self.report, self.uri_map, self.status = report, uri_map or {}, status
        self.titles: dict[str, SourceThread] = {}
        self.threads: dict[str, int] = dict(  # uri -> id, of the site's threads
            session.execute(select(Thread.uri, Thread.id).where(Thread.site == site)).all()
        )
        self.preexisting = set(self.threads.values())
        self.addresses: dict[str, tuple[str | None, str | None]] = {}
        self.touched: set[int] = set()
        self.named: set[int] = set()  # every thread this file names
        self.batch: list[tuple[dict[str, Any], SourceComment]] = []
        # The batch handed to the workers, stored once the next one is read: reading the file
        # and sanitising its texts then run at the same time.
        self.sent: tuple[list[tuple[dict[str, Any], SourceComment]], Any] | None = None
        self.waiting: list[tuple[int, int, str, str]] = []  # child, thread, parent origin, where
        self.own_prefix = own_prefix(export_source(self.secret))
        self.own_ids: dict[int, int] | None = None
        self.moderators = {
            e.lower(): i for i, e in session.execute(select(Moderator.id, Moderator.email))
        }
        # Every imported comment of the site: origin -> (id, thread id).
        self.origins: dict[str, tuple[int, int]] = {
            cast(str, origin): (ident, thread)
            for origin, ident, thread in session.execute(
                select(Comment.origin, Comment.id, Comment.thread_id)
                .join(Thread)
                .where(Thread.site == site, Comment.origin.is_not(None))
            )
        }

    def _own(self, origin: str) -> tuple[int, int] | None:
        """A comment of this site named by this instance's own export ("commentsvc:<this
        instance>:<id>"): it never left, so importing it again adds nothing."""
        if not origin.startswith(self.own_prefix) or not origin[len(self.own_prefix) :].isdigit():
            return None
        if self.own_ids is None:
            self.own_ids = dict(
                self.session.execute(
                    select(Comment.id, Comment.thread_id)
                    .join(Thread)
                    .where(Thread.site == self.site)
                ).all()
            )
        ident = int(origin[len(self.own_prefix) :])
        return (ident, self.own_ids[ident]) if ident in self.own_ids else None

    def _refuse(self, where: str, why: str) -> None:
        self.report.refused.append((_short(where), why))

    def add(self, record: Record) -> None:
        if isinstance(record, Refused):
            self._refuse(record.where, record.reason)
        elif isinstance(record, SourceThread):
            self.titles[record.url] = record
        else:
            self._comment(record)
            if len(self.batch) >= BATCH:
                self._flush()

    def _uri(self, url: str) -> tuple[str | None, str]:
        mapped = self.uri_map.get(_url_key(url))
        if mapped:
            return mapped, ""
        parts = urlsplit(url.strip())
        uri = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return uri, uri_problem(uri) or ""

    def _thread(self, item: SourceComment, uri: str) -> int:
        ident = self.threads.get(uri)
        if ident is None:
            source = self.titles.get(item.thread_url)
            title = item.thread_title or (source.title if source else None)
            ident = self.session.execute(
                _INSERT_THREAD,
                {
                    "site": self.site,
                    "uri": uri,
                    "title": (title or "")[:MAX_TITLE] or None,
                    "closed": item.thread_closed or bool(source and source.closed),
                    "created": source.created if source and source.created else utcnow(),
                    "version": 0,
                },
            ).scalar_one()
            self.report.threads_created += 1
            self.threads[uri] = ident
        self.named.add(ident)
        return ident

    def _comment(self, item: SourceComment) -> None:
        origin = item.origin if len(item.origin) <= 255 else content_origin(item.origin)
        known = self.origins.get(origin) or self._own(origin)
        if known is not None:
            self.origins[origin] = known  # its replies in the file find it
            self.report.skipped += 1
            self.named.add(known[1])
            return
        uri, problem = self._uri(item.thread_url)
        if problem:
            self._refuse(
                item.where,
                f"its post's address {item.thread_url[:200]!r} gives no "
                f"thread uri: {problem} (a URI map can place it)",
            )
            return
        text = _CONTROLS.sub("", item.text).strip()
        if not text and item.status != Status.deleted:
            self._refuse(item.where, "it has no text")
            return
        thread_id = self._thread(item, cast(str, uri))  # a uri, since there is no problem
        row = self._row(item, text)
        row.update(thread_id=thread_id, origin=origin)
        self.origins[origin] = (0, thread_id)  # claimed: a repeat in the file is skipped
        self.batch.append((row, item))

    def _row(self, item: SourceComment, text: str) -> dict[str, Any]:
        author = clean_name(_CONTROLS.sub("", item.author or ""))
        email, website = clean_email(item.email), clean_website(item.website)
        if item.email and not email:
            self.report.changed["E-mail addresses left out as not valid"] += 1
        if item.website and not website:
            self.report.changed["Websites left out as not valid"] += 1
        address, remote_hash = self._address(item.address)
        status = item.status
        if status == Status.approved and self.status is not None:
            status = self.status
        return {
            "parent_id": None,
            "author": author[:MAX_AUTHOR] if author else None,
            "email": email,
            "website": website,
            "text": text,
            "text_format": item.text_format,
            "html": "",
            "status": status,
            "held_reason": (item.held_reason or "")[:200] or None,
            "created": item.created,
            "edited": item.edited,
            "score": item.score,
            "notify": item.notify and email is not None,
            "lang": item.lang,
            "remote_addr": address,
            "remote_hash": remote_hash,
            "text_hash": "",  # with html, derived for the whole batch in _flush
            "avatar": avatar_seed(self.secret, email, author, remote_hash or ""),
            "moderator_id": self.moderators.get((item.moderator_email or "").lower()),
        }

    def _address(self, given: str | None) -> tuple[str | None, str | None]:
        """The anonymised form of an address and the keyed hash bans match (one commenter's
        address recurs through a file: each is worked out once)."""
        if not given:
            return None, None
        found = self.addresses.get(given)
        if found is None:
            address = anonymise_address(given)
            if address in ("0.0.0.0", "::"):  # noqa: S104 - what Isso writes for "unknown"
                address = None
            found = (address, tokens.keyed_hash(self.secret, given.strip()) if address else None)
            if len(self.addresses) < 100_000:
                self.addresses[given] = found
        return found

    def _flush(self) -> None:
        """Send the batch read to the workers and store the one sent before it (in file order,
        so a reply finds a parent stored by an earlier batch). Without workers, store it now."""
        sent, self.sent = self.sent, None
        if self.batch:
            sources = [(row["text"], row["text_format"]) for row, _ in self.batch]
            if self.pool:
                self.sent = (self.batch, self.pool.map_async(derive, sources, chunksize=50))
            else:
                sent = (self.batch, _Derived(list(map(derive, sources))))
            self.batch = []
        if sent is not None:
            self._store(*sent)

    def _store(self, batch: list[tuple[dict[str, Any], SourceComment]], derived: Any) -> None:
        for (row, item), (html, digest) in zip(batch, derived.get(), strict=True):
            row["html"], row["text_hash"] = html, digest
            parent = self.origins.get(item.parent_origin) if item.parent_origin else None
            if parent is not None and parent[0] and parent[1] == row["thread_id"]:
                row["parent_id"] = parent[0]
        inserted = self.session.execute(_INSERT_COMMENTS, [row for row, _ in batch])
        ids: dict[str, int] = {origin: ident for origin, ident in inserted}
        subscriptions: list[dict[str, Any]] = []
        votes: list[dict[str, Any]] = []
        for row, item in batch:
            ident = ids[row["origin"]]
            self.origins[row["origin"]] = (ident, row["thread_id"])
            self.touched.add(row["thread_id"])
            self.report.imported[row["status"].value] += 1
            if item.parent_origin and row["parent_id"] is None:
                self.waiting.append((ident, row["thread_id"], item.parent_origin, item.where))
            if item.subscription and row["email"]:
                subscriptions.append(_subscription_row(ident, row["email"], item))
            voters = set()
            for vote in item.votes:
                if vote.voter not in voters:  # one vote per reader, as the table allows
                    voters.add(vote.voter)
                    votes.append({"comment_id": ident, **vars(vote)})
        if subscriptions:
            self.session.execute(_INSERT_SUBSCRIPTIONS, subscriptions)
        if votes:
            self.session.execute(_INSERT_VOTES, votes)

    def finish(self) -> Report:
        """Link the replies whose parent came later; the changed threads are recounted and
        their cached pages marked stale."""
        self._flush()
        self._flush()  # the last batch sent
        links = []
        for child, thread, parent_origin, where in self.waiting:
            parent = self.origins.get(parent_origin)
            if parent is not None and parent[1] == thread:
                links.append({"child": child, "parent": parent[0]})
            else:
                why = "is in another thread" if parent is not None else "is not in the file"
                self.report.reattached.append((_short(where), f"its parent {parent_origin} {why}"))
        for start in range(0, len(links), BATCH):
            self.session.connection().execute(_SET_PARENT, links[start : start + BATCH])
        connection = self.session.connection()
        bump_thread_versions(connection, self.touched)
        recount_approved(connection, self.touched)  # the inserts above bypass the flush hook
        self.report.threads_reused = len(self.named & self.preexisting)
        return self.report
