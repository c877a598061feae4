"""The two services as a reader's browser talks to them, and the threads both are seeded with.

Seeding goes through each service's own HTTP API, with the same threads and the same texts.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import urllib.parse
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import _peer_lua
from _common import NAMES, Server, comment_text, fetch, tree_shape

EMPTY_URI = "/blog/2025/nobody-has-commented-yet/"
SMALL_URI = "/blog/2025/a-short-note-on-caching/"
MEDIUM_URI = "/blog/2025/sqlite-in-production/"
BIG_URI = "/blog/2025/why-we-self-host-our-comments/"
COUNT_URIS = [f"/notes/{i:03d}-weekly-links/" for i in range(50)]  # as on a blog's index page
POST_URIS = [
    f"/blog/2025/{slug}/"
    for slug in (  # the posting row's threads, one seed each
        "self-hosting-comments",
        "a-year-of-rust",
        "why-markdown",
        "moving-to-postgres",
        "weekly-links-42",
        "on-moderation",
        "notes-on-fsync",
        "the-comment-form",
    )
]
THREADS = (
    [(BIG_URI, 1000), (MEDIUM_URI, 100), (SMALL_URI, 10)]
    + [(uri, 5) for uri in COUNT_URIS]
    + [(uri, 1) for uri in POST_URIS]
)
SIZES = dict(THREADS) | {EMPTY_URI: 0}
JSON = {"Content-Type": "application/json"}
Answer = tuple[int, bytes, dict[str, str]]  # status, body as sent, headers (names lower-case)


# --- the same threads and texts for both services ----------------------------------------------


@dataclass(frozen=True)
class Entry:
    text: str
    author: str | None
    email: str | None
    website: str | None
    parent: int | None  # the index of the comment it answers, in the same thread


def seed_plan() -> list[tuple[str, list[Entry]]]:
    """Every thread's comments in posting order: Markdown of 100 to 600 characters, 30 % of
    them top-level, replies nested up to depth 6, mostly answering recent comments."""
    rng = random.Random(20250301)  # noqa: S311  (reproducible data, not crypto)
    plan = []
    for uri, n in THREADS:
        entries = []
        for parent in tree_shape(rng, n):
            author = rng.choice(NAMES) if rng.random() < 0.85 else None
            email = f"reader{rng.randint(1, 400)}@example.org" if rng.random() < 0.5 else None
            host = re.sub(r"[^a-z]", "", (author or "").lower()) or "reader"
            website = f"https://{host}.example.net/" if author and rng.random() < 0.3 else None
            entries.append(Entry(comment_text(rng), author, email, website, parent))
        plan.append((uri, entries))
    return plan


def call(
    server: Server, path: str, body: object = None, headers: dict[str, str] | None = None
) -> Answer:
    """One request to a server, a JSON body if any."""
    data = None if body is None else json.dumps(body).encode()
    status, raw, got = fetch(server.url(path), data, {**(JSON if data else {}), **(headers or {})})
    return status, raw, {name.lower(): value for name, value in got.items()}


def _title(uri: str) -> str:
    return uri.strip("/").rsplit("/", 1)[-1].replace("-", " ").capitalize()


# --- the two services, as a reader's browser talks to them -------------------------------------


class Commentsvc:
    name = "commentsvc"

    def __init__(self, server: Server):
        self.server = server

    @staticmethod
    def thread_path(uri: str, limit: int = 1000) -> str:
        """The whole thread, as Isso returns it: up to 1,000 top-level comments."""
        return "/api/threads?" + urllib.parse.urlencode({"uri": uri, "limit": limit})

    @staticmethod
    def counts(uris: list[str]) -> tuple[str, object]:
        return "/api/counts", {"uris": uris}

    @staticmethod
    def token_path(uri: str) -> str:
        return "/api/form-token?" + urllib.parse.urlencode({"uri": uri})

    def form_token(self, uri: str) -> str:
        status, raw, _ = call(self.server, self.token_path(uri))
        if status != 200:
            raise RuntimeError(f"commentsvc: reading a form token for {uri}: HTTP {status}")
        return json.loads(raw)["form_token"]

    def post_answer(self, uri: str, entry: Entry, parent_id: int | None) -> Answer:
        """A new comment with a form token read just before, as the widget does."""
        return call(
            self.server,
            "/api/comments",
            {
                "uri": uri,
                "title": _title(uri),
                "text": entry.text,
                "author": entry.author,
                "email": entry.email,
                "website": entry.website,
                "parent_id": parent_id,
                "form_token": self.form_token(uri),
            },
        )

    def post(self, uri: str, entry: Entry, parent_id: int | None) -> int:
        status, raw, _ = self.post_answer(uri, entry, parent_id)
        answer = json.loads(raw) if status == 201 else {}
        if answer.get("status") != "approved":
            raise RuntimeError(f"commentsvc: posting to {uri}: HTTP {status} {raw[:300]!r}")
        return answer["id"]

    @staticmethod
    def thread_problem(raw: bytes, n: int) -> str | None:
        data = json.loads(raw)
        nodes, pending = 0, list(data["comments"])
        while pending:
            nodes += 1
            pending.extend(pending.pop()["replies"])
        if nodes != n or data["count"] != n or data["next"] is not None:
            return f"{nodes} comments returned, count {data['count']}, {n} expected"
        return None

    @staticmethod
    def counts_problem(raw: bytes, uris: list[str]) -> str | None:
        got, want = json.loads(raw)["counts"], {uri: SIZES[uri] for uri in uris}
        return None if got == want else f"counts {got}, {want} expected"

    def post_script(self, workdir: Path, parents: list[int]) -> Path:
        pool = [[self.form_token(uri) for _ in range(4)] for uri in POST_URIS]
        return _peer_lua.write(
            workdir,
            _peer_lua.COMMENTSVC,
            uris=POST_URIS,
            parents=parents,
            token_paths=[self.token_path(u) for u in POST_URIS],
            pool=pool,
        )


class Isso:
    name = "Isso"

    def __init__(self, server: Server):
        self.server = server

    @staticmethod
    def thread_path(uri: str) -> str:
        """Every comment of the thread (Isso nests replies one level deep)."""
        return "/?" + urllib.parse.urlencode({"uri": uri})

    @staticmethod
    def counts(uris: list[str]) -> tuple[str, object]:
        return "/count", uris

    @staticmethod
    def new_path(uri: str) -> str:
        return "/new?" + urllib.parse.urlencode({"uri": uri})

    def post_answer(self, uri: str, entry: Entry, parent_id: int | None) -> Answer:
        return call(
            self.server,
            self.new_path(uri),
            {
                "title": _title(uri),
                "text": entry.text,
                "author": entry.author,
                "email": entry.email,
                "website": entry.website,
                "parent": parent_id,
            },
        )

    def post(self, uri: str, entry: Entry, parent_id: int | None) -> int:
        status, raw, _ = self.post_answer(uri, entry, parent_id)
        if status != 201:
            raise RuntimeError(f"Isso: posting to {uri}: HTTP {status} {raw[:300]!r}")
        return json.loads(raw)["id"]

    @staticmethod
    def thread_problem(raw: bytes, n: int) -> str | None:
        data = json.loads(raw)
        nodes = sum(1 + len(c["replies"]) for c in data["replies"])
        if nodes != n or data["total_replies"] != n:
            return f"{nodes} comments returned, total_replies {data['total_replies']}, {n} expected"
        return None

    @staticmethod
    def counts_problem(raw: bytes, uris: list[str]) -> str | None:
        got, want = json.loads(raw), [SIZES[uri] for uri in uris]
        return None if got == want else f"counts {got}, {want} expected"

    def post_script(self, workdir: Path, parents: list[int]) -> Path:
        return _peer_lua.write(
            workdir,
            _peer_lua.ISSO,
            parents=parents,
            paths=[self.new_path(uri) for uri in POST_URIS],
        )


Service = Commentsvc | Isso


def seed(
    services: list[Service], plan: list[tuple[str, list[Entry]]], workers: int = 6
) -> dict[str, tuple[float, dict[str, list[int]]]]:
    """Post every thread to every service through its API, all threads and both services side
    by side. Within a thread a reply waits for its parent's id, so siblings may be stored in a
    slightly different order than planned; the trees and the texts are the same.

    Returns, per service, the seconds its seeding took and the ids of each thread's comments.
    """
    stop = threading.Event()
    started = time.monotonic()
    finished = {service.name: 0.0 for service in services}

    def post(service: Service, uri: str, entry: Entry, parent: Future | None) -> int:
        if stop.is_set():
            raise RuntimeError("seeding stopped")
        ident = service.post(uri, entry, None if parent is None else parent.result())
        finished[service.name] = max(finished[service.name], time.monotonic() - started)
        return ident

    queues = [(service, uri, entries) for uri, entries in plan for service in services]
    futures: dict[tuple[str, str], list[Future]] = {}
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="seed")
    try:
        # Every thread one comment at a time in turn: the big threads never wait for the small
        # ones, and a parent is always taken up by a worker before its replies (the pool is
        # first in, first out), so a reply waiting for it never waits for a free worker.
        for i in range(max(len(entries) for _, entries in plan)):
            for service, uri, entries in queues:
                if i < len(entries):
                    made = futures.setdefault((service.name, uri), [])
                    parent = entries[i].parent
                    made.append(
                        pool.submit(
                            post, service, uri, entries[i], None if parent is None else made[parent]
                        )
                    )
        ids: dict[str, dict[str, list[int]]] = {service.name: {} for service in services}
        for (name, uri), made in futures.items():
            ids[name][uri] = [future.result() for future in made]
    finally:
        stop.set()  # on a failure or Ctrl-C, the queued posts are dropped
        pool.shutdown(wait=False, cancel_futures=True)
    return {name: (finished[name], ids[name]) for name in ids}
