"""Cross-origin rules, rate limits and the body cap."""

from __future__ import annotations

import pytest
import redis

from commentsvc import create_app
from commentsvc.extensions import db

from .conftest import need, unique_uri

BLOG = "http://blog.test"
EVIL = "http://evil.test"
REDIS_URL = "redis://127.0.0.1:6379/15"


def test_allowed_origin_can_read_and_post(client, post):
    response = client.get("/api/threads", query_string={"uri": "/a"}, headers={"Origin": BLOG})
    assert response.headers["Access-Control-Allow-Origin"] == BLOG
    assert "Origin" in response.headers["Vary"]
    created = client.post(
        "/api/comments", headers={"Origin": BLOG}, json={"uri": unique_uri(), "text": "hi"}
    )
    assert created.status_code == 201
    assert created.headers["Access-Control-Allow-Origin"] == BLOG


def test_preflight_answers_allowed_origins_only(client):
    headers = {
        "Origin": BLOG,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    allowed = client.options("/api/comments", headers=headers)
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == BLOG
    assert "POST" in allowed.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in allowed.headers["Access-Control-Allow-Headers"]
    refused = client.options("/api/comments", headers={**headers, "Origin": EVIL})
    assert "Access-Control-Allow-Origin" not in refused.headers


def test_other_origins_cannot_post_or_read_cross_origin(client, stored):
    before = stored()
    response = client.post(
        "/api/comments", headers={"Origin": EVIL}, json={"uri": unique_uri(), "text": "hi"}
    )
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    assert stored() == before
    read = client.get("/api/threads", query_string={"uri": "/a"}, headers={"Origin": EVIL})
    assert read.status_code == 200
    assert "Access-Control-Allow-Origin" not in read.headers


def test_the_services_own_origin_is_always_allowed(client):
    response = client.post(
        "/api/preview", json={"text": "x"}, headers={"Origin": "http://comments.test"}
    )
    assert response.status_code == 200


@pytest.fixture
def limited(settings):
    settings.update(RATELIMIT_ENABLED=True, RATELIMIT_POST="2 per minute")
    return settings


@pytest.mark.usefixtures("limited")
def test_posting_too_often_is_429_with_retry_after(post, stored):
    uri = unique_uri()
    assert [post(uri).status_code for _ in range(2)] == [201, 201]
    before = stored()
    response = post(uri)
    assert response.status_code == 429
    error = response.get_json()["error"]
    assert error["code"] == "rate_limited"
    assert 0 < int(response.headers["Retry-After"]) <= 61  # a one-minute window, rounded up
    assert error["retry_after"] == int(response.headers["Retry-After"])
    assert stored() == before


@pytest.mark.usefixtures("limited")
def test_a_real_cross_origin_429_exposes_retry_after(client, form_token):
    """The blog's page reads Retry-After only if the answer says so (CORS hides other headers):
    on the limiter's own 429, not one made up for the test."""
    uri = unique_uri()

    def post(n: int):
        return client.post(
            "/api/comments",
            headers={"Origin": BLOG},
            json={"uri": uri, "text": f"Comment {n}", "form_token": form_token(uri)},
        )

    assert [post(n).status_code for n in range(2)] == [201, 201]
    response = post(2)
    assert response.status_code == 429
    assert response.headers["Access-Control-Allow-Origin"] == BLOG
    exposed = response.headers.get("Access-Control-Expose-Headers", "").lower().replace(" ", "")
    assert "retry-after" in exposed.split(",")
    assert 0 < int(response.headers["Retry-After"]) <= 61


@pytest.fixture
def redis_url():
    try:
        redis.Redis.from_url(REDIS_URL).flushdb()  # a database of its own, emptied per test
    except redis.ConnectionError as exc:
        need(False, f"Redis is not reachable: {exc}")
    return REDIS_URL


def test_rate_limit_is_shared_through_redis(app, database_url, limited, redis_url, form_token):
    """Two apps, as in two processes, count one address's posts together in Redis."""
    apps = [
        create_app({**limited, "DATABASE_URL": database_url, "REDIS_URL": redis_url})
        for _ in range(2)
    ]
    uri = unique_uri()
    statuses = []
    for app in apps + apps:
        response = app.test_client().post(
            "/api/comments", json={"uri": uri, "text": "hi", "form_token": form_token(uri)}
        )
        statuses.append(response.status_code)
    for other in apps:
        with other.app_context():
            db.engine.dispose()
    assert statuses == [201, 201, 429, 429]
    assert redis.Redis.from_url(redis_url).keys("*commentsvc*"), "the counts live in Redis"


def test_a_refused_origin_is_logged_once_naming_the_setting(client, caplog):
    from commentsvc.api import cors

    cors._warned.discard("https://new-blog.example")
    headers = {"Origin": "https://new-blog.example"}
    with caplog.at_level("WARNING"):
        for _ in range(3):
            client.get("/api/threads", query_string={"uri": "/p/"}, headers=headers)
        client.post("/api/comments", json={"uri": "/p/", "text": "hi"}, headers=headers)
        client.get(
            "/api/threads", query_string={"uri": "/p/"}, headers={"Origin": "http://blog.test"}
        )  # allowed: nothing to say
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        "refused a browser request from origin 'https://new-blog.example': it is "
        "not in COMMENTSVC_ALLOWED_ORIGINS; add it there to let that site's "
        "pages show and post comments"
    ]
