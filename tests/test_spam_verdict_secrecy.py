"""A comment marked spam answers its poster exactly as a held one does: bots learn nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from commentsvc.extensions import db
from commentsvc.models import Comment, Status

from .conftest import unique_uri

ME = "me@example.com"
HELD_TEXT = "Links [a](https://a.example) [b](https://b.example) [c](https://c.example)"


@pytest.fixture(autouse=True, params=["all", "first-time", "none"])
def policy(request, settings):
    """Every policy: under `first-time` and `none` a reply to one's own held comment would be
    published at once, where one to a spam comment is held, unless both are held alike."""
    settings["MODERATION"] = request.param
    return request.param


@pytest.fixture
def known_author(app, make_comment):
    """The poster has a published comment already, so `first-time` trusts them."""
    comment = make_comment(unique_uri(), "An earlier comment", email=ME)
    with app.app_context():
        db.session.get(Comment, comment["id"]).status = Status.approved
        db.session.commit()
        db.session.remove()


def _status(app, comment_id):
    with app.app_context():
        status = db.session.execute(
            sa.select(Comment.status).where(Comment.id == comment_id)
        ).scalar_one()
        db.session.remove()
    return status


@pytest.fixture
def held_and_spam(app, make_comment, known_author):
    """A held comment (more links than allowed, held under every policy) and a spam one (the
    honeypot filled), on threads of their own, both by a known author."""
    held = make_comment(unique_uri(), HELD_TEXT, email=ME)
    spam = make_comment(unique_uri(), "A spam comment", hp="http://spam.example", email=ME)
    assert _status(app, held["id"]) == Status.pending
    assert _status(app, spam["id"]) == Status.spam
    return held, spam


def test_posting_spam_answers_like_a_held_comment(held_and_spam):
    held, spam = held_and_spam
    assert spam["status"] == held["status"] == "pending"
    assert set(spam) == set(held)


def test_editing_ones_spam_comment_answers_pending(app, client, held_and_spam):
    answers = []
    for comment in held_and_spam:
        response = client.patch(
            f"/api/comments/{comment['id']}",
            json={"text": "Edited"},
            headers={"Authorization": f"Bearer {comment['edit_token']}"},
        )
        answers.append((response.status_code, response.get_json()["status"]))
    assert answers == [(200, "pending"), (200, "pending")]
    assert _status(app, held_and_spam[1]["id"]) == Status.spam


def test_replying_to_ones_spam_comment_answers_like_replying_to_a_held_one(
    app, post, held_and_spam
):
    answers = []
    for comment in held_and_spam:
        thread = _uri_of(app, comment["id"])
        response = post(thread, "A reply to myself", parent_id=comment["id"], email=ME)
        answers.append(response.status_code)
        answers.append(response.get_json())
    assert answers[0] == answers[2] == 201
    reply_to_held, reply_to_spam = answers[1], answers[3]
    assert set(reply_to_held) == set(reply_to_spam)
    assert reply_to_held["status"] == reply_to_spam["status"] == "pending"
    # Neither reply is public: the one to a held comment waits for a moderator with its parent.
    assert _status(app, reply_to_held["id"]) == Status.pending
    assert _status(app, reply_to_spam["id"]) == Status.spam


def _uri_of(app, comment_id):
    with app.app_context():
        uri = db.session.get(Comment, comment_id).thread.uri
        db.session.remove()
    return uri


def test_ones_own_spam_comment_is_shown_to_its_author_as_held(app, client, held_and_spam):
    for comment in held_and_spam:
        uri = _uri_of(app, comment["id"])
        anyone = client.get(f"/api/threads?uri={uri}").get_json()
        assert anyone["comments"] == []
        author = client.get(
            f"/api/threads?uri={uri}", headers={"X-Edit-Tokens": comment["edit_token"]}
        ).get_json()
        [shown] = author["comments"]
        assert (shown["id"], shown["status"]) == (comment["id"], "pending")
