"""Many readers posting at once through gunicorn: every accepted comment is stored exactly once."""

from __future__ import annotations

import http.client
import random
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from tests.support.databases import (
    fresh_database,  # noqa: F401  (the database_url fixture: a database of its own per test)
    stored_comments,
)
from tests.support.env import service_env
from tests.support.http import Client, tree_ids
from tests.support.server import LOAD_SETTINGS, Server

CLIENTS = 50
POSTS_PER_CLIENT = 20
URIS = [f"/blog/2025/busy-post-{n}/" for n in range(5)]  # few threads: first posts race
# Correctness only: how fast the posts go is measured by bench/post_bench.py, where the figures
# are compared within one run. The clients are bounded (JOIN_TIMEOUT) only so that a hang ends.
JOIN_TIMEOUT = 300


@dataclass
class Posted:
    uri: str
    text: str
    parent_id: int | None
    status: int = 0
    id: int | None = None
    error: str = ""


@dataclass
class Board:
    """What every client has seen accepted, so that others can reply to it."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    accepted: list[tuple[int, str, int]] = field(default_factory=list)  # (client, uri, id)

    def add(self, client: int, uri: str, comment_id: int) -> None:
        with self.lock:
            self.accepted.append((client, uri, comment_id))

    def someone_elses(self, client: int, rng: random.Random) -> tuple[str, int] | None:
        with self.lock:
            others = [(uri, i) for c, uri, i in self.accepted[-200:] if c != client]
        return rng.choice(others) if others else None


def one_client(
    number: int, port: int, board: Board, start: threading.Barrier, log: list[Posted]
) -> None:
    """Post POSTS_PER_CLIENT comments: new ones, replies to one's own and to others'."""
    rng = random.Random(number)
    mine: list[tuple[str, int]] = []
    with Client(port) as client:
        client.thread(URIS[0])  # connected before the start
        start.wait(timeout=60)
        for n in range(POSTS_PER_CLIENT):
            roll, target = rng.random(), None
            if mine and roll < 0.3:
                target = rng.choice(mine)
            elif roll < 0.6:
                target = board.someone_elses(number, rng)
            uri, parent_id = target if target else (rng.choice(URIS), None)
            text = (
                f"Client {number:02d}, comment {n:02d} ({secrets.token_hex(4)}): "
                f"*café* and `naïve` code, {rng.randint(0, 10**6)}."
            )
            entry = Posted(uri, text, parent_id)
            log.append(entry)
            fields = {"parent_id": parent_id} if parent_id else {}
            try:
                response = client.post_comment(uri, text, **fields)
            except (OSError, http.client.HTTPException) as exc:
                entry.error = f"{type(exc).__name__}: {exc}"
                continue
            entry.status = response.status
            if response.status != 201:
                entry.error = response.body[:300].decode(errors="replace")
                continue
            entry.id = response.json()["id"]
            mine.append((uri, entry.id))
            board.add(number, uri, entry.id)


def run_clients(port: int) -> tuple[list[Posted], float]:
    board, start = Board(), threading.Barrier(CLIENTS + 1)
    logs: list[list[Posted]] = [[] for _ in range(CLIENTS)]
    threads = [
        threading.Thread(
            target=one_client, args=(n, port, board, start, logs[n]), name=f"client-{n}"
        )
        for n in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    try:
        start.wait(timeout=60)
    except threading.BrokenBarrierError:
        pass  # a client failed before posting; its empty log tells
    began = time.monotonic()
    for thread in threads:
        thread.join(timeout=max(0.0, began + JOIN_TIMEOUT - time.monotonic()))
    elapsed = time.monotonic() - began
    assert not any(t.is_alive() for t in threads), (
        f"a client was still posting after {JOIN_TIMEOUT} s: the service hangs"
    )
    return [entry for log in logs for entry in log], elapsed


def test_concurrent_posts_are_each_stored_once(database_url, tmp_path):
    env = service_env(database_url, tmp_path, **LOAD_SETTINGS)
    with Server(env, tmp_path / "gunicorn.log", workers=2) as server:
        posted, elapsed = run_clients(server.port)
        with Client(server.port) as client:
            counts = client.counts(URIS)
            trees = {uri: client.thread(uri, limit=1000) for uri in URIS}
        log = server.log_tail()
    stored = stored_comments(database_url)
    print(
        f"\n{database_url.split(':')[0]}: {CLIENTS} clients x {POSTS_PER_CLIENT} posts "
        f"in {elapsed:.1f} s ({len(posted) / elapsed:.0f} posts/s)"
    )

    refused = [e for e in posted if e.status != 201]
    server_errors = [e for e in refused if e.status >= 500 or e.status == 0]
    assert not server_errors, (
        f"{len(server_errors)} of {len(posted)} posts failed with a 5xx or a broken connection "
        f"under concurrent load, first: {server_errors[0]}\nserver log:\n{log}"
    )
    assert not refused, f"{len(refused)} posts refused, first: {refused[0]}"
    assert len(posted) == CLIENTS * POSTS_PER_CLIENT
    assert "database is locked" not in log, log
    assert "Traceback" not in log, log

    accepted = {e.id: e for e in posted}
    assert len(accepted) == len(posted), "the service gave the same id to two posts"
    missing = sorted(set(accepted) - set(stored))
    assert not missing, f"{len(missing)} posts answered 201 are not stored: {missing[:10]}"
    unexpected = sorted(set(stored) - set(accepted))
    assert not unexpected, f"{len(unexpected)} stored comments nobody got a 201 for"
    wrong = [
        (i, accepted[i], stored[i])
        for i in accepted
        if (stored[i].uri, stored[i].text, stored[i].parent_id)
        != (accepted[i].uri, accepted[i].text, accepted[i].parent_id)
    ]
    assert not wrong, f"{len(wrong)} stored comments differ from what was posted: {wrong[:3]}"
    twice = [t for t, n in Counter(c.text for c in stored.values()).items() if n > 1]
    assert not twice, f"{len(twice)} comments stored twice: {twice[:3]}"

    approved = Counter(c.uri for c in stored.values() if c.status == "approved")
    assert sum(approved.values()) == len(posted)
    assert counts == {uri: approved[uri] for uri in URIS}
    for uri, tree in trees.items():
        assert tree["count"] == approved[uri]
        assert sorted(tree_ids(tree["comments"])) == sorted(
            c.id for c in stored.values() if c.uri == uri
        )
    assert sum(1 for e in posted if e.parent_id) > CLIENTS * POSTS_PER_CLIENT // 3
