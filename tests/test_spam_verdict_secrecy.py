"""A comment marked spam answers its poster exactly as a held one does: bots learn nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from commentsvc.extensions import db
from commentsvc.models import Comment, Status

from .conftest import unique_uri


@pytest.fixture(autouse=True)
def review_all(settings):
    settings["MODERATION"] = "all"  # a person's comment is held: the answer spam must copy


def _status(app, comment_id):
    with app.app_context():
        status = db.session.execute(
            sa.select(Comment.status).where(Comment.id == comment_id)
        ).scalar_one()
        db.session.remove()
    return status


@pytest.fixture
def held_and_spam(app, make_comment):
    """A held comment and a spam one (the honeypot filled), on threads of their own."""
    held = make_comment(unique_uri(), "A held comment")
    spam = make_comment(unique_uri(), "A spam comment", hp="http://spam.example")
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
        response = post(thread, "A reply to myself", parent_id=comment["id"])
        answers.append((response.status_code, response.get_json()["status"]))
    assert answers == [(201, "pending"), (201, "pending")]
    with app.app_context():
        [reply_to_spam] = db.session.execute(
            sa.select(Comment).where(Comment.parent_id == held_and_spam[1]["id"])
        ).scalars()
        assert reply_to_spam.status == Status.spam
        db.session.remove()


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
