"""An edit meets every check a new comment with the same content would: it cannot turn a
published comment into something that would have been held or refused."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from commentsvc.config import settings_of
from commentsvc.extensions import db
from commentsvc.models import Ban, BanKind, BlockedWord, Comment, RuleAction, Status, Thread
from commentsvc.moderation import moderate
from commentsvc.tokens import keyed_hash

from .conftest import unique_uri

CASINO = "\n".join(f"[win big {n}](https://casino{n}.example/bonus)" for n in range(20))


def _edit(client, comment, **fields):
    return client.patch(
        f"/api/comments/{comment['id']}",
        json=fields,
        headers={"Authorization": f"Bearer {comment['edit_token']}"},
    )


def _row(app, comment_id):
    with app.app_context():
        row = db.session.execute(
            sa.select(
                Comment.status, Comment.text, Comment.author, Comment.website, Comment.held_reason
            ).where(Comment.id == comment_id)
        ).one()
        db.session.remove()
    return row


def _public(client, uri, tokens=()):
    headers = {"X-Edit-Tokens": ",".join(tokens)} if tokens else {}
    return client.get(f"/api/threads?uri={uri}", headers=headers).get_json()


def _add(app, *rows):
    with app.app_context():
        db.session.add_all(rows)
        db.session.commit()


def test_edit_to_many_links_takes_a_published_comment_back_to_review(app, client, make_comment):
    uri = unique_uri()
    comment = make_comment(uri, "Nice post")
    assert comment["status"] == "approved"

    response = _edit(
        client, comment, text=CASINO, author="Casino King", website="https://casino.example"
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "pending"

    stored = _row(app, comment["id"])
    assert stored.status == Status.pending
    assert stored.held_reason.startswith("edited: 20 links")
    public = _public(client, uri)
    assert public["count"] == 0 and public["comments"] == []
    assert "casino" not in client.get(f"/api/threads?uri={uri}").get_data(as_text=True)
    [own] = _public(client, uri, [comment["edit_token"]])["comments"]
    assert own["status"] == "pending" and "casino0.example" in own["html"]
    assert client.get(f"/api/counts?uri={uri}").get_json()["counts"][uri] == 0


def test_edit_with_a_refused_word_is_refused_and_changes_nothing(app, client, make_comment):
    _add(app, BlockedWord(word="casino", action=RuleAction.refuse))
    comment = make_comment(unique_uri(), "Nice post")
    response = _edit(client, comment, text="Visit my casino", author="Ann")
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    stored = _row(app, comment["id"])
    assert (stored.status, stored.text, stored.author) == (Status.approved, "Nice post", None)


def test_a_blocklisted_word_in_a_new_name_or_website_holds_the_edit(app, client, make_comment):
    _add(app, BlockedWord(word="casino", action=RuleAction.hold))
    by_name = make_comment(unique_uri(), "Nice post")
    by_site = make_comment(unique_uri(), "Good point")
    assert (
        _edit(client, by_name, text="Nice post", author="Casino Bob").get_json()["status"]
        == "pending"
    )
    assert (
        _edit(client, by_site, text="Good point", website="https://casino.example").get_json()[
            "status"
        ]
        == "pending"
    )
    assert _row(app, by_name["id"]).held_reason == "edited: blocklisted word: casino"


def test_a_spam_word_in_an_edit_marks_it_spam_but_answers_pending(app, client, make_comment):
    _add(app, BlockedWord(word="viagra", action=RuleAction.spam))
    comment = make_comment(unique_uri(), "Nice post")
    response = _edit(client, comment, text="cheap viagra")
    assert response.get_json()["status"] == "pending"
    assert _row(app, comment["id"]).status == Status.spam


def test_an_edit_from_a_banned_address_is_held(app, client, make_comment):
    comment = make_comment(unique_uri(), "Nice post")
    _add(
        app,
        Ban(
            kind=BanKind.address,
            value=keyed_hash(app.config["SECRET_KEY"], "127.0.0.1"),
            action=RuleAction.hold,
        ),
    )
    assert _edit(client, comment, text="Nice post!").get_json()["status"] == "pending"
    assert _row(app, comment["id"]).held_reason == "edited: banned address"


def test_an_edit_repeating_ones_earlier_comment_is_spam(app, client, make_comment):
    make_comment(unique_uri(), "Buy cheap watches at watches.example")
    comment = make_comment(unique_uri(), "Interesting read.")
    response = _edit(client, comment, text="buy CHEAP watches at watches.example!")
    assert response.get_json()["status"] == "pending"
    stored = _row(app, comment["id"])
    assert stored.status == Status.spam
    assert stored.held_reason == "edited: bot signal: same text again from the same source"


def test_an_edit_a_new_post_would_publish_stays_published(app, client, make_comment):
    comment = make_comment(unique_uri(), "Nice post")
    response = _edit(client, comment, text="Nice post, and a [link](https://example.com)")
    assert response.get_json()["status"] == "approved"
    assert _row(app, comment["id"]).status == Status.approved


@pytest.fixture
def review_all(settings):
    settings["MODERATION"] = "all"


def test_under_review_of_everything_an_approved_comment_edited_is_reviewed_again(
    review_all, app, client, make_comment
):
    comment = make_comment(unique_uri(), "Nice post")
    with app.app_context():
        moderate(
            db.session, settings_of(app), db.session.get(Comment, comment["id"]), "approve", "test"
        )
        db.session.commit()
    assert _edit(client, comment, text="Nice post (typo fixed)").get_json()["status"] == "pending"
    assert _row(app, comment["id"]).status == Status.pending


def test_an_edit_never_publishes_a_held_comment(review_all, app, client, make_comment):
    comment = make_comment(unique_uri(), "Held at first")
    assert comment["status"] == "pending"
    assert _edit(client, comment, text="Still held").get_json()["status"] == "pending"
    assert _row(app, comment["id"]).status == Status.pending


def test_replies_keep_their_place_when_their_parent_goes_back_to_review(app, client, make_comment):
    uri = unique_uri()
    root = make_comment(uri, "Root")
    reply = make_comment(uri, "A reply", parent_id=root["id"])
    assert _edit(client, root, text=CASINO).get_json()["status"] == "pending"
    public = _public(client, uri)
    assert public["count"] == 1
    [placeholder] = public["comments"]
    assert placeholder["id"] == root["id"] and placeholder["status"] == "deleted"
    assert placeholder["html"] == "" and placeholder["author"] is None
    assert [r["id"] for r in placeholder["replies"]] == [reply["id"]]


def _close(app, uri):
    with app.app_context():
        db.session.execute(sa.update(Thread).where(Thread.uri == uri).values(closed=True))
        db.session.commit()
        db.session.remove()


def test_an_edit_on_a_closed_thread_is_refused_like_a_new_post(app, client, post, make_comment):
    uri = unique_uri()
    comment = make_comment(uri, "Nice post")
    _close(app, uri)
    new_post = post(uri, "Too late")
    edit = _edit(client, comment, text=CASINO, author="Casino King")
    assert (new_post.status_code, edit.status_code) == (403, 403)
    assert set(edit.get_json()["error"]) == set(new_post.get_json()["error"])
    assert edit.get_json()["error"]["code"] == "closed"
    stored = _row(app, comment["id"])
    assert (stored.status, stored.text, stored.author) == (Status.approved, "Nice post", None)


def test_deleting_ones_comment_on_a_closed_thread_is_allowed(app, client, make_comment):
    uri = unique_uri()
    comment = make_comment(uri, "I take it back")
    _close(app, uri)
    response = client.delete(
        f"/api/comments/{comment['id']}",
        headers={"Authorization": f"Bearer {comment['edit_token']}"},
    )
    assert response.status_code == 200, response.get_json()
    assert _row(app, comment["id"]).status == Status.deleted
