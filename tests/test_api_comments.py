"""Posting, replying, moderation policy, and editing one's own comment."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from commentsvc import spamfilter
from commentsvc.config import settings_of
from commentsvc.extensions import db
from commentsvc.models import Comment, Status, Thread

from .conftest import unique_uri
from .settings_helpers import change_settings


def _stored(app, comment_id):
    with app.app_context():
        comment = db.session.get(Comment, comment_id)
        db.session.expunge(comment)
        return comment


def test_post_returns_the_comment_with_an_edit_token(app, post):
    response = post(
        unique_uri(),
        "Persistence *pays* off",
        author="Ann",
        email="Ann@Example.com",
        website="https://ann.example",
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "approved"
    assert body["html"] == "<p>Persistence <em>pays</em> off</p>"
    assert body["author"] == "Ann" and body["website"] == "https://ann.example"
    assert body["edit_token"] and body["edit_until"].endswith("Z")
    assert "email" not in body and "Ann@Example.com" not in response.get_data(as_text=True)
    stored = _stored(app, body["id"])
    assert stored.email == "ann@example.com"
    assert stored.text == "Persistence *pays* off"
    assert stored.remote_addr == "127.0.0.0"


def test_website_without_scheme_gets_https(post):
    assert post(unique_uri(), website="ann.example").get_json()["website"] == "https://ann.example"


@pytest.mark.parametrize(
    "policy, expected", [("all", "pending"), ("none", "approved"), ("first-time", "pending")]
)
def test_policy_decides_the_first_comment(request, database_url, settings, policy, expected):
    settings["MODERATION"] = policy
    post = request.getfixturevalue("post")  # the app is built after the policy is set
    assert post(unique_uri(), "hi", email="new@example.com").get_json()["status"] == expected


@pytest.fixture
def first_time(settings):
    settings["MODERATION"] = "first-time"


@pytest.mark.usefixtures("first_time")
def test_first_time_policy_approves_known_authors(app, client, post):
    uri = unique_uri()
    first = post(uri, "one", email="known@example.com").get_json()
    assert first["status"] == "pending"
    assert post(uri, "two", email="known@example.com").get_json()["status"] == "pending"
    with app.app_context():
        db.session.get(Comment, first["id"]).status = Status.approved
        db.session.commit()
    assert post(uri, "three", email="KNOWN@example.com").get_json()["status"] == "approved"
    assert post(uri, "four", email="other@example.com").get_json()["status"] == "pending"
    assert post(uri, "five").get_json()["status"] == "pending"


@pytest.mark.usefixtures("first_time")
def test_pending_comments_are_seen_only_by_their_author(client, post):
    uri = unique_uri()
    mine = post(uri, "held").get_json()
    public = client.get("/api/threads", query_string={"uri": uri}).get_json()
    assert public["comments"] == [] and public["count"] == 0
    assert client.get("/api/counts", query_string={"uri": uri}).get_json()["counts"][uri] == 0
    own = client.get(
        "/api/threads",
        query_string={"uri": uri},
        headers={"X-Edit-Tokens": f"forged, {mine['edit_token']}"},
    ).get_json()
    assert [(c["id"], c["status"]) for c in own["comments"]] == [(mine["id"], "pending")]
    assert own["count"] == 0


def test_bot_signals_are_held_quietly_as_spam(app, client):
    uri = unique_uri()
    for body in (
        {"uri": uri, "text": "no token"},
        {"uri": uri, "text": "forged", "form_token": "abc.def.ghi"},
        {"uri": uri, "text": "honeypot", "hp": "http://spam.example"},
    ):
        response = client.post("/api/comments", json=body)
        assert response.status_code == 201
        assert response.get_json()["status"] == "pending"
    with app.app_context():
        statuses = db.session.execute(sa.select(Comment.status, Comment.held_reason)).all()
    assert [s for s, _ in statuses] == [Status.spam] * 3
    assert all(reason.startswith("bot signal") for _, reason in statuses)


def test_posting_sooner_than_the_minimum_is_spam(app, client):
    from commentsvc.tokens import issue_form_token

    change_settings(app, MIN_SUBMIT_SECONDS=30)
    uri = unique_uri()
    token = issue_form_token(app.config["SECRET_KEY"], "default", uri)
    body = client.post(
        "/api/comments", json={"uri": uri, "text": "fast", "form_token": token}
    ).get_json()
    assert body["status"] == "pending"
    assert _stored(app, body["id"]).held_reason == "bot signal: posted too fast"


def test_reply_to_other_thread_is_refused(post, make_comment, stored):
    elsewhere = make_comment(unique_uri(), "elsewhere")
    uri = unique_uri()
    make_comment(uri, "here")
    before = stored()
    response = post(uri, "reply", parent_id=elsewhere["id"])
    assert response.status_code == 400
    assert "parent_id" in response.get_json()["error"]["fields"]
    assert stored() == before


def test_reply_to_missing_parent_is_refused_and_creates_no_thread(post, stored):
    before = stored()
    response = post(unique_uri(), "reply", parent_id=999999)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "validation"
    assert stored() == before


def test_closed_thread_refuses_new_comments(app, post, make_comment, stored):
    uri = unique_uri()
    make_comment(uri, "before closing")
    with app.app_context():
        db.session.execute(sa.update(Thread).where(Thread.uri == uri).values(closed=True))
        db.session.commit()
    before = stored()
    response = post(uri, "too late")
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "closed"
    assert stored() == before


def test_edit_within_the_window_rerenders(app, client, make_comment):
    comment = make_comment(unique_uri(), "old")
    response = client.patch(
        f"/api/comments/{comment['id']}",
        json={"text": "**new**"},
        headers={"Authorization": f"Bearer {comment['edit_token']}"},
    )
    assert response.status_code == 200
    assert response.get_json()["html"] == "<p><strong>new</strong></p>"
    stored = _stored(app, comment["id"])
    assert stored.text == "**new**" and stored.edited is not None


def test_edit_token_cannot_edit_another_comment(client, make_comment, stored):
    uri = unique_uri()
    mine, theirs = make_comment(uri, "mine"), make_comment(uri, "theirs")
    before = stored()
    for method in (client.patch, client.delete):
        response = method(
            f"/api/comments/{theirs['id']}",
            json={"text": "hijack"},
            headers={"Authorization": f"Bearer {mine['edit_token']}"},
        )
        assert response.status_code == 403
    forged = mine["edit_token"][:-2] + ("AA" if not mine["edit_token"].endswith("AA") else "BB")
    response = client.patch(
        f"/api/comments/{mine['id']}",
        json={"text": "x"},
        headers={"Authorization": f"Bearer {forged}"},
    )
    assert response.status_code == 403
    assert stored() == before


def test_edit_and_delete_are_refused_after_the_window(
    app, client, make_comment, stored, monkeypatch
):
    comment = make_comment(unique_uri(), "mine")
    later = time.time() + settings_of(app).edit_window + 5
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    before = stored()
    auth = {"Authorization": f"Bearer {comment['edit_token']}"}
    edit = client.patch(f"/api/comments/{comment['id']}", json={"text": "late"}, headers=auth)
    delete = client.delete(f"/api/comments/{comment['id']}", headers=auth)
    assert (edit.status_code, delete.status_code) == (403, 403)
    assert edit.get_json()["error"]["code"] == "token_expired"
    assert stored() == before


def test_reply_to_a_deleted_comment_is_refused(client, post, make_comment):
    uri = unique_uri()
    gone = make_comment(uri, "gone")
    client.delete(
        f"/api/comments/{gone['id']}", headers={"Authorization": f"Bearer {gone['edit_token']}"}
    )
    assert post(uri, "reply", parent_id=gone["id"]).status_code == 400


def test_preview_renders_like_saving(client, make_comment):
    text = "> quote\n\n- [link](https://example.com)\n\n<script>x</script>"
    preview = client.post("/api/preview", json={"text": text}).get_json()["html"]
    assert preview == make_comment(unique_uri(), text)["html"]


def test_a_post_runs_a_fixed_number_of_statements(app, make_comment, count_queries):
    """A new comment on an existing thread, approved at once: the thread, whether the form
    token was used, the duplicate check, the site's bans and blocked words with the spam
    filter's lesson counts; then the writes: the form token marked used, the insert, and the
    thread's version and count in one UPDATE. The features' counts are read only once the
    filter has lessons of both kinds (before, its score is always 0.5)."""
    uri = unique_uri()
    make_comment(uri)  # the thread exists from here on
    count_queries.clear()
    assert make_comment(uri)["status"] == "approved"
    assert len(count_queries) == 7, "\n".join(count_queries)
    with app.app_context():
        spamfilter.train(db.session, [("cheap pills here", "spam", None)])
        db.session.commit()
    count_queries.clear()
    assert make_comment(uri)["status"] == "approved"
    assert len(count_queries) == 7, "\n".join(count_queries)
    with app.app_context():
        spamfilter.train(db.session, [("a kind word", "ham", None)])
        db.session.commit()
    count_queries.clear()
    assert make_comment(uri)["status"] == "approved"
    assert len(count_queries) == 8, "\n".join(count_queries)
    # Every read comes before the first write: on SQLite a post holds the database's write
    # lock from its first write to its commit, and the other processes' posts wait for it.
    kinds = [query.lstrip().split(None, 1)[0].upper() for query in count_queries]
    first_write = kinds.index("INSERT")
    assert "SELECT" not in kinds[first_write:], "\n".join(count_queries)
