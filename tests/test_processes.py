"""Two app processes behind one PostgreSQL and one Redis behave as one service."""

from __future__ import annotations

from contextlib import ExitStack

import pytest
import redis

from tests.conftest import need
from tests.support.databases import migrated_database, postgres_base
from tests.support.env import service_env
from tests.support.http import Client, tree_ids
from tests.support.server import Server

REDIS_URL = "redis://127.0.0.1:6379/14"  # a database of its own, flushed by these tests
URI = "/blog/2025/two-processes/"
THREE_LINKS = "[one](https://a.example/), [two](https://b.example/), [three](https://c.example/)"


@pytest.fixture(scope="module")
def shared_redis():
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        client.close()
        need(False, f"Redis is not reachable at {REDIS_URL}: {exc}")
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(scope="module")
def servers(shared_redis, tmp_path_factory):
    """Process A and process B: one worker each, on their own ports, sharing every store."""
    base = postgres_base()
    tmp = tmp_path_factory.mktemp("processes")
    with migrated_database("postgresql", tmp, base) as database_url, ExitStack() as stack:
        shared_redis.flushdb()
        env = service_env(
            database_url,
            tmp,
            REDIS_URL=REDIS_URL,
            RATELIMIT_ENABLED=True,
            RATELIMIT_POST="3 per minute",
            MIN_SUBMIT_SECONDS=0,
            MODERATION="none",
        )
        a, b = Server(env, tmp / "a.log", workers=1), Server(env, tmp / "b.log", workers=1)
        for server in (a, b):
            stack.callback(server.stop)
            server.launch()  # both boot at once
        a.wait_ready()
        b.wait_ready()
        yield a, b


@pytest.fixture
def a_and_b(servers, shared_redis):
    """Clients of A and B, with the rate limits' counters at zero."""
    shared_redis.flushdb()
    a, b = servers
    with Client(a.port) as client_a, Client(b.port) as client_b:
        yield client_a, client_b


def test_a_comment_posted_through_one_process_is_read_and_edited_through_the_other(
    a_and_b, shared_redis
):
    a, b = a_and_b
    first = a.post_comment(URI, "Posted through A.", b.form_token(URI))
    assert first.status == 201, first.body
    first = first.json()
    held = a.post_comment(URI, THREE_LINKS, b.form_token(URI), parent_id=first["id"])
    assert held.status == 201, held.body
    held = held.json()
    assert held["status"] == "pending"  # three links: held for a moderator

    seen_by_b = b.thread(URI)
    assert tree_ids(seen_by_b["comments"]) == [first["id"]]
    assert seen_by_b["count"] == 1
    own = b.request(
        "GET", f"/api/threads?uri={URI}", headers={"X-Edit-Tokens": held["edit_token"]}
    ).json()
    assert sorted(tree_ids(own["comments"])) == [first["id"], held["id"]], (
        "B does not honour an edit token issued by A"
    )

    edited = b.request(
        "PATCH",
        f"/api/comments/{first['id']}",
        {"text": "Edited through B."},
        headers={"Authorization": f"Bearer {first['edit_token']}"},
    )
    assert edited.status == 200, edited.body
    assert "Edited through B." in a.thread(URI)["comments"][0]["html"]
    assert a.counts([URI]) == b.counts([URI]) == {URI: 1}
    assert shared_redis.keys("*"), "the rate limiter wrote nothing to the shared Redis"


def test_the_post_rate_limit_is_counted_across_both_processes(a_and_b):
    a, b = a_and_b
    answers = [a.post_comment(URI, f"Rate limited post {n} through A.").status for n in range(2)]
    answers.append(b.post_comment(URI, "Rate limited post 2 through B.").status)
    assert answers == [201, 201, 201]

    over_a = a.post_comment(URI, "One too many, through A.")
    over_b = b.post_comment(URI, "One too many, through B.")
    assert (over_a.status, over_b.status) == (429, 429), (
        "the limit of 3 posts per minute was not shared: "
        f"A answered {over_a.status}, B answered {over_b.status}"
    )
    for response in (over_a, over_b):
        assert response.json()["error"]["code"] == "rate_limited"
        # the window is a minute; Flask-Limiter rounds its end up to the next whole second
        assert 0 < int(response.headers["Retry-After"]) <= 61
