"""Reading threads and counts."""

from __future__ import annotations

import re

import sqlalchemy as sa

from commentsvc.config import settings_of
from commentsvc.extensions import db
from commentsvc.models import Thread

from .conftest import unique_uri


def test_unknown_thread_is_empty_not_missing(client):
    uri = "/2008/01/persistence-pays-off.html"
    response = client.get("/api/threads", query_string={"uri": uri})
    assert response.status_code == 200
    body = response.get_json()
    assert body["count"] == 0
    assert body["comments"] == []
    # The page is public and may be cached: a form token (each works once) is asked for apart.
    assert "form_token" not in body
    token = client.get("/api/form-token", query_string={"uri": uri})
    assert token.status_code == 200 and token.get_json()["form_token"]
    assert token.headers["Cache-Control"] == "no-store"


def test_reading_never_creates_a_thread(app, client):
    client.get("/api/threads", query_string={"uri": unique_uri()})
    client.get("/api/counts", query_string={"uri": unique_uri()})
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Thread.id))) == 0


def test_first_comment_creates_the_thread_with_its_title(client, make_comment):
    uri = unique_uri()
    make_comment(uri, "First!", title="Persistence pays off")
    body = client.get("/api/threads", query_string={"uri": uri}).get_json()
    assert body["title"] == "Persistence pays off"
    assert body["count"] == 1
    assert [c["html"] for c in body["comments"]] == ["<p>First!</p>"]


def test_replies_nest_under_their_parent(client, make_comment):
    uri = unique_uri()
    top = make_comment(uri, "top")
    reply = make_comment(uri, "reply", parent_id=top["id"])
    make_comment(uri, "reply to reply", parent_id=reply["id"])
    make_comment(uri, "second top")
    body = client.get("/api/threads", query_string={"uri": uri}).get_json()
    assert body["count"] == 4
    assert body["total"] == 2
    first = body["comments"][0]
    assert first["html"] == "<p>top</p>"
    assert first["replies"][0]["html"] == "<p>reply</p>"
    assert first["replies"][0]["parent_id"] == top["id"]
    assert first["replies"][0]["replies"][0]["html"] == "<p>reply to reply</p>"
    assert body["comments"][1]["replies"] == []


def test_public_comments_never_show_email_or_address(client, make_comment):
    uri = unique_uri()
    make_comment(uri, "hi", email="reader@example.com", author="Ann", website="https://ann.example")
    raw = client.get("/api/threads", query_string={"uri": uri}).get_data(as_text=True)
    assert "reader@example.com" not in raw
    assert "127.0.0" not in raw
    comment = client.get("/api/threads", query_string={"uri": uri}).get_json()["comments"][0]
    assert set(comment) == {
        "id",
        "parent_id",
        "author",
        "website",
        "avatar",
        "html",
        "status",
        "created",
        "edited",
        "score",
        "moderator",
        "replies",
    }


def test_pages_of_top_level_comments_follow_the_cursor(client, make_comment):
    uri = unique_uri()
    ids = [make_comment(uri, f"c{i}")["id"] for i in range(5)]
    make_comment(uri, "reply", parent_id=ids[0])
    first = client.get("/api/threads", query_string={"uri": uri, "limit": 2}).get_json()
    assert [c["id"] for c in first["comments"]] == ids[:2]
    assert len(first["comments"][0]["replies"]) == 1
    second = client.get(
        "/api/threads", query_string={"uri": uri, "limit": 2, "after": first["next"]}
    ).get_json()
    assert [c["id"] for c in second["comments"]] == ids[2:4]
    third = client.get(
        "/api/threads", query_string={"uri": uri, "limit": 2, "after": second["next"]}
    ).get_json()
    assert [c["id"] for c in third["comments"]] == ids[4:]
    assert third["next"] is None
    assert first["total"] == 5 and first["count"] == 6


def test_newest_first_sorts_top_level_only(client, make_comment):
    uri = unique_uri()
    a = make_comment(uri, "a")
    b = make_comment(uri, "b")
    r1 = make_comment(uri, "r1", parent_id=a["id"])
    r2 = make_comment(uri, "r2", parent_id=a["id"])
    body = client.get("/api/threads", query_string={"uri": uri, "sort": "newest"}).get_json()
    assert [c["id"] for c in body["comments"]] == [b["id"], a["id"]]
    assert [c["id"] for c in body["comments"][1]["replies"]] == [r1["id"], r2["id"]]


def test_reading_a_thread_takes_the_same_queries_whatever_its_size(
    client, make_comment, count_queries
):
    small, large = unique_uri(), unique_uri()
    make_comment(small, "one")
    parent = make_comment(large, "root")
    for i in range(30):
        parent = make_comment(large, f"r{i}", parent_id=parent["id"] if i % 3 else None)
    count_queries.clear()
    client.get("/api/threads", query_string={"uri": small})
    small_queries = len(count_queries)
    count_queries.clear()
    client.get("/api/threads", query_string={"uri": large})
    assert len(count_queries) == small_queries == 2


def test_counts_cover_many_uris_in_one_query(client, make_comment, count_queries):
    a, b, c = unique_uri(), unique_uri(), unique_uri()
    make_comment(a, "x")
    make_comment(a, "y")
    make_comment(b, "z")
    count_queries.clear()
    body = client.get("/api/counts", query_string=[("uri", a), ("uri", b), ("uri", c)]).get_json()
    assert body == {"counts": {a: 2, b: 1, c: 0}}
    assert len(count_queries) == 1
    posted = client.post("/api/counts", json={"uris": [a, b, c]}).get_json()
    assert posted == body


def test_deleted_comment_with_replies_stays_as_a_placeholder(client, make_comment):
    uri = unique_uri()
    top = make_comment(uri, "top")
    make_comment(uri, "reply", parent_id=top["id"])
    lone = make_comment(uri, "lone")
    for comment in (top, lone):
        response = client.delete(
            f"/api/comments/{comment['id']}",
            headers={"Authorization": f"Bearer {comment['edit_token']}"},
        )
        assert response.status_code == 200
    body = client.get("/api/threads", query_string={"uri": uri}).get_json()
    assert [c["id"] for c in body["comments"]] == [top["id"]]
    placeholder = body["comments"][0]
    assert placeholder["status"] == "deleted"
    assert placeholder["html"] == "" and placeholder["author"] is None
    assert placeholder["replies"][0]["html"] == "<p>reply</p>"
    assert body["count"] == 1


def test_very_deep_replies_attach_at_the_depth_limit(client, make_comment):
    from commentsvc.threads import MAX_DEPTH

    uri = unique_uri()
    parent = None
    chain = []
    for i in range(MAX_DEPTH + 5):
        parent = make_comment(uri, f"level {i}", parent_id=parent["id"] if parent else None)
        chain.append(parent["id"])
    node, depth = client.get("/api/threads", query_string={"uri": uri}).get_json()["comments"][0], 1
    while node["replies"] and depth < MAX_DEPTH:
        node, depth = node["replies"][0], depth + 1
    assert depth == MAX_DEPTH
    assert [r["id"] for r in node["replies"]] == chain[MAX_DEPTH:]
    assert all(r["replies"] == [] for r in node["replies"])


def reads_comments(statements: list[str]) -> bool:
    """Whether any of these SQL statements reads the comments table."""
    return any(re.search(r"\bFROM comments\b", s, re.IGNORECASE) for s in statements)


def test_a_cached_thread_is_never_served_stale(app, client, make_comment, count_queries):
    from commentsvc.models import Comment, Status
    from commentsvc.moderation import moderate, rename_thread

    uri = unique_uri()
    first = make_comment(uri, "first")
    read = lambda: client.get("/api/threads", query_string={"uri": uri}).get_json()  # noqa: E731

    def read_from() -> tuple[dict, str]:
        """The page, and where it came from: its comments read from the database, or not."""
        count_queries.clear()
        page = read()
        return page, "database" if reads_comments(count_queries) else "cache"

    page, source = read_from()
    assert page["count"] == 1 and source == "database"
    assert read_from() == (page, "cache")  # the same page again, its comments not read
    second = make_comment(uri, "second")
    page, source = read_from()
    assert page["count"] == 2 and source == "database"
    with app.app_context():
        comment = db.session.get(Comment, first["id"])
        moderate(db.session, settings_of(app), comment, "spam", "test")
        db.session.commit()
    assert [c["html"] for c in read()["comments"]] == ["<p>second</p>"]
    with app.app_context():
        thread = db.session.scalar(sa.select(Thread).where(Thread.uri == uri))
        rename_thread(db.session, thread, "Renamed", "test")
        db.session.commit()
        assert db.session.get(Comment, first["id"]).status == Status.spam
    assert read()["title"] == "Renamed"
    # An edit of the published comment: its new text, not the cached old one.
    edited = client.patch(
        f"/api/comments/{second['id']}",
        json={"text": "*edited*"},
        headers={"Authorization": f"Bearer {second['edit_token']}"},
    )
    assert edited.status_code == 200 and edited.get_json()["status"] == "approved"
    assert [c["html"] for c in read()["comments"]] == ["<p><em>edited</em></p>"]
