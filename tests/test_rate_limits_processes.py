"""The documented limits hold in the default deployment: several worker processes, no Redis."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

from tests.support.databases import (
    fresh_database,  # noqa: F401  (the database_url fixture: a database of its own per test)
)
from tests.support.env import service_env
from tests.support.http import Client
from tests.support.server import Server

from .conftest import unique_uri

LIMITED = {"RATELIMIT_ENABLED": True, "MIN_SUBMIT_SECONDS": 0, "MODERATION": "none"}


def _post(port: int, uri: str, n: int) -> int:
    with Client(port) as client:
        return client.post_comment(uri, f"Comment number {n} from one reader").status


def test_two_worker_processes_without_redis_count_one_budget(database_url, tmp_path):
    """What `make run` starts: gunicorn with two workers, no Redis."""
    env = service_env(database_url, tmp_path, RATELIMIT_POST="5 per minute", **LIMITED)
    uri = unique_uri()
    with Server(env, tmp_path / "server.log", workers=2) as server:
        with ThreadPoolExecutor(4) as pool:  # side by side, so both workers take posts
            statuses = list(pool.map(lambda n: _post(server.port, uri, n), range(10)))
    assert sorted(statuses) == [201] * 5 + [429] * 5, statuses


def test_two_processes_on_one_database_share_the_limit(database_url, tmp_path):
    env = service_env(database_url, tmp_path, RATELIMIT_POST="2 per minute", **LIMITED)
    uri = unique_uri()
    with ExitStack() as stack:
        a = stack.enter_context(Server(env, tmp_path / "a.log", workers=1))
        b = stack.enter_context(Server(env, tmp_path / "b.log", workers=1))
        statuses = [_post(server.port, uri, n) for n, server in enumerate([a, b, a, b])]
    assert statuses == [201, 201, 429, 429], (
        f"two processes did not share one budget of 2 posts a minute: {statuses}"
    )
