"""Votes: one per reader per published comment, changeable, counted in the score every read
shows at once; sorting a thread by score."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select, update

from commentsvc.extensions import db
from commentsvc.models import Comment, Status, Vote

from .conftest import unique_uri

READER = "reader-token-0123456789abcdef"


def vote(client, comment_id, value, voter=READER, address="198.51.100.7"):
    return client.post(
        f"/api/comments/{comment_id}/vote",
        json={"value": value, "voter": voter},
        environ_base={"REMOTE_ADDR": address},
    )


def set_status(app, comment_id, status):
    with app.app_context():
        db.session.execute(update(Comment).where(Comment.id == comment_id).values(status=status))
        db.session.commit()


def test_one_vote_per_reader_changeable_and_shown_in_the_thread(client, make_comment):
    uri = unique_uri()
    comment = make_comment(uri, "Vote on me")
    assert (
        client.get("/api/threads", query_string={"uri": uri}).get_json()["comments"][0]["score"]
        == 0
    )  # now cached
    assert vote(client, comment["id"], 1).get_json() == {"id": comment["id"], "score": 1}
    assert vote(client, comment["id"], 1).get_json()["score"] == 1  # not twice
    assert vote(client, comment["id"], -1).get_json()["score"] == -1  # changed
    assert (
        vote(client, comment["id"], 1, voter="another-reader-token-xyz0").get_json()["score"] == 0
    )
    assert vote(client, comment["id"], 0).get_json()["score"] == 1  # taken back
    thread = client.get("/api/threads", query_string={"uri": uri}).get_json()
    assert thread["comments"][0]["score"] == 1


def test_votes_are_for_published_comments_only(app, client, make_comment):
    uri = unique_uri()
    held, spam, gone = (make_comment(uri, f"Comment {n}")["id"] for n in range(3))
    set_status(app, held, Status.pending)
    set_status(app, spam, Status.spam)
    set_status(app, gone, Status.deleted)
    for ident in (held, spam):
        response = vote(client, ident, 1)
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "not_votable"
    assert vote(client, gone, 1).status_code == 404
    assert vote(client, 10**9, 1).status_code == 404
    assert vote(client, 2**31, 1).status_code == 404  # beyond INTEGER: still no such comment
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Vote)).scalar_one() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"value": 2, "voter": READER}, "value"),
        ({"value": True, "voter": READER}, "value"),
        ({"value": "1", "voter": READER}, "value"),
        ({"value": 1}, "voter"),
        ({"value": 1, "voter": "short"}, "voter"),
        ({"value": 1, "voter": "a b" * 10}, "voter"),
    ],
)
def test_a_bad_vote_is_a_clear_error(client, make_comment, body, field):
    comment = make_comment(unique_uri(), "Hello")
    response = client.post(f"/api/comments/{comment['id']}/vote", json=body)
    assert response.status_code == 400 and field in response.get_json()["error"]["fields"]


def test_new_tokens_from_one_address_buy_only_a_few_votes(client, make_comment):
    comment = make_comment(unique_uri(), "Stuff the ballot?")
    answers = [
        vote(client, comment["id"], 1, voter=f"rotating-token-{n:08d}").status_code
        for n in range(7)
    ]
    assert answers == [200] * 5 + [403, 403]
    assert (
        vote(
            client, comment["id"], 1, voter="elsewhere-token-0001", address="203.0.113.9"
        ).get_json()["score"]
        == 6
    )


def test_two_tabs_of_one_reader_vote_once(app, make_comment):
    comment = make_comment(unique_uri(), "Two tabs")
    barrier = threading.Barrier(2)
    answers = []

    def tab():
        client = app.test_client()
        barrier.wait()
        answers.append(vote(client, comment["id"], 1).status_code)

    tabs = [threading.Thread(target=tab) for _ in range(2)]
    for t in tabs:
        t.start()
    for t in tabs:
        t.join()
    assert answers == [200, 200]
    with app.app_context():
        assert (
            db.session.execute(
                select(Comment.score).where(Comment.id == comment["id"])
            ).scalar_one()
            == 1
        )
        assert db.session.execute(select(func.count()).select_from(Vote)).scalar_one() == 1


def test_top_sorts_by_score_then_age_across_pages(client, make_comment):
    uri = unique_uri()
    old, middle, new = (make_comment(uri, f"Root {n}")["id"] for n in range(3))
    make_comment(uri, "A reply", parent_id=old)
    for n in range(2):
        vote(client, new, 1, voter=f"reader-number-{n:010d}")
    vote(client, middle, 1)
    ids, after = [], None
    while True:
        query = {"uri": uri, "sort": "top", "limit": 1, **({"after": after} if after else {})}
        page = client.get("/api/threads", query_string=query).get_json()
        ids += [c["id"] for c in page["comments"]]
        after = page["next"]
        if not after:
            break
    assert ids == [new, middle, old]
    oldest = client.get("/api/threads", query_string={"uri": uri, "limit": 1}).get_json()
    response = client.get(
        "/api/threads", query_string={"uri": uri, "sort": "top", "after": oldest["next"]}
    )
    assert response.status_code == 400 and "after" in response.get_json()["error"]["fields"]


@pytest.fixture
def limited(settings):
    settings.update(RATELIMIT_ENABLED=True, RATELIMIT_VOTE="2 per minute")


def test_votes_are_rate_limited(limited, app, client, make_comment):
    comment = make_comment(unique_uri(), "Popular")
    codes = [
        vote(client, comment["id"], 1, voter=f"fast-voter-token-{n:04d}").status_code
        for n in range(3)
    ]
    assert codes == [200, 200, 429]
