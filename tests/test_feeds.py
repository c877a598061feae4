"""Atom feeds of approved comments: valid Atom (feedparser finds no fault), stable entry ids,
sanitised content, nothing private, nothing held."""

from __future__ import annotations

import feedparser
import pytest
from sqlalchemy import update

from commentsvc.extensions import db
from commentsvc.models import Comment, Status

from .conftest import unique_uri
from .test_sanitiser_corpora import html_problems


def parsed(response):
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    feed = feedparser.parse(response.get_data())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    for required in ("id", "title", "updated"):
        assert feed.feed.get(required), required
    for entry in feed.entries:
        for required in ("id", "title", "updated", "link", "author"):
            assert entry.get(required), required
    return feed


def test_a_threads_feed_holds_its_approved_comments_newest_first(app, client, make_comment):
    uri = unique_uri()
    first = make_comment(
        uri, "First **words**", author="Ann", email="ann@example.org", title="Persistence pays off"
    )
    second = make_comment(uri, "A reply", author="Bob", parent_id=first["id"])
    held = make_comment(uri, "Held back", author="Cy")
    with app.app_context():
        db.session.execute(
            update(Comment).where(Comment.id == held["id"]).values(status=Status.pending)
        )
        db.session.commit()
    feed = parsed(client.get("/feed/thread.atom", query_string={"uri": uri}))
    assert feed.feed.title == "Comments on Persistence pays off"
    assert [e.author for e in feed.entries] == ["Bob", "Ann"]
    assert feed.entries[1].content[0].value == "<p>First <strong>words</strong></p>"
    assert feed.entries[1].link == (
        f"http://comments.test/comments?uri={uri.replace('/', '%2F')}"
        f"&show={first['id']}#comment-{first['id']}"
    )
    body = client.get("/feed/thread.atom", query_string={"uri": uri}).get_data(as_text=True)
    assert "ann@example.org" not in body and "Held back" not in body
    # The same comment keeps its id from one fetch to the next.
    again = parsed(client.get("/feed/thread.atom", query_string={"uri": uri}))
    assert [e.id for e in again.entries] == [e.id for e in feed.entries]
    assert len({e.id for e in feed.entries}) == 2 and second["id"]


def test_the_recent_feed_spans_threads(client, make_comment):
    one, two = unique_uri(), unique_uri()
    make_comment(one, "On the first post", author="Ann")
    make_comment(two, "On the second post", author="Bob")
    feed = parsed(client.get("/feed/recent.atom"))
    assert [e.title for e in feed.entries[:2]] == [f"Bob on {two}", f"Ann on {one}"]


def test_an_unknown_thread_is_an_empty_valid_feed(client):
    feed = parsed(client.get("/feed/thread.atom", query_string={"uri": "/never/"}))
    assert feed.entries == []


@pytest.mark.parametrize("uri", ["", "javascript:alert(1)", "/x\n/y"])
def test_a_bad_uri_is_a_clear_error(client, uri):
    response = client.get("/feed/thread.atom", query_string={"uri": uri})
    assert response.status_code == 400 and response.get_json()["error"]["fields"]["uri"]


@pytest.mark.backends("sqlite")
def test_hostile_text_stays_safe_in_the_feed(client, make_comment):
    uri = unique_uri()
    make_comment(
        uri,
        "<script>alert(1)</script> [x](javascript:alert(1)) ]]> &amp; <b>b</b>",
        author='"><img src=x onerror=alert(1)>',
    )
    feed = parsed(client.get("/feed/thread.atom", query_string={"uri": uri}))
    (entry,) = feed.entries
    assert html_problems(entry.content[0].value) == []
    assert entry.author == '"><img src=x onerror=alert(1)>'  # text, escaped in the XML


def test_the_no_javascript_page_links_its_feed(client, make_comment):
    uri = unique_uri()
    make_comment(uri, "Hello")
    page = client.get("/comments", query_string={"uri": uri}).get_data(as_text=True)
    assert (
        '<link rel="alternate" type="application/atom+xml" title="Comments on '
        f'{uri}" href="/feed/thread.atom?uri={uri}">'
    ) in page
