"""The no-JS thread page is paged by comments, replies included, and cached like the API: a
thread of one comment and a thousand replies costs one page of work, once."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from commentsvc.extensions import db
from commentsvc.models import Comment, Status, Thread, utcnow

from .conftest import unique_uri

ARTICLE = re.compile(r'<article class="csvc-comment[^"]*" id="comment-(\d+)"')


@pytest.fixture
def big_thread(app):
    """One root comment and 250 replies to it (the reported shape, smaller)."""
    uri = unique_uri()
    start = utcnow() - timedelta(hours=1)
    with app.app_context():
        thread = Thread(uri=uri, title="A busy post")
        root = Comment(
            thread=thread,
            author="Ann",
            text="Root",
            html="<p>Root</p>",
            status=Status.approved,
            created=start,
        )
        db.session.add_all([thread, root])
        db.session.flush()
        db.session.add_all(
            Comment(
                thread=thread,
                parent_id=root.id,
                author=f"Reader {n}",
                text=f"Reply {n}",
                html=f"<p>Reply {n}</p>",
                status=Status.approved,
                created=start + timedelta(seconds=n + 1),
            )
            for n in range(250)
        )
        db.session.commit()
        root_id = root.id
        db.session.remove()
    return uri, root_id


def _ids(html):
    return [int(i) for i in ARTICLE.findall(html)]


def test_the_page_holds_a_hundred_comments_replies_included(client, big_thread):
    uri, root_id = big_thread
    pages = [client.get(f"/comments?uri={uri}&page={n}") for n in (1, 2, 3)]
    assert [p.status_code for p in pages] == [200, 200, 200]
    html = [p.get_data(as_text=True) for p in pages]
    ids = [_ids(h) for h in html]
    assert [len(i) for i in ids] == [100, 100, 51]
    assert ids[0][0] == root_id
    everything = [i for page in ids for i in page]
    assert len(everything) == len(set(everything)) == 251  # each comment exactly once
    assert "251 comments" in html[0] and "Page 1 of 3" in html[0]
    assert 'href="/comments?uri=' in html[0] and "Next page (2)" in html[0]
    # A reply whose parent is on an earlier page says whom it answers.
    assert "in reply to Ann" in html[1]


def test_a_page_past_the_end_shows_the_last_one(client, big_thread):
    uri, _ = big_thread
    last = client.get(f"/comments?uri={uri}&page=99").get_data(as_text=True)
    assert len(_ids(last)) == 51 and "Page 3 of 3" in last


def test_a_repeated_page_is_served_from_the_cache(client, big_thread, count_queries):
    uri, _ = big_thread
    client.get(f"/comments?uri={uri}&page=2")
    first = len(count_queries)
    client.get(f"/comments?uri={uri}&page=2")
    again = len(count_queries) - first
    assert first >= 2 and again == 1  # only the thread's version, no comments read


def test_a_new_comment_is_on_the_page_at_once(client, big_thread, make_comment):
    uri, root_id = big_thread
    before = client.get(f"/comments?uri={uri}&page=3").get_data(as_text=True)
    new = make_comment(uri, "The newest reply", parent_id=root_id)
    after = client.get(f"/comments?uri={uri}&page=3").get_data(as_text=True)
    assert new["id"] not in _ids(before) and new["id"] in _ids(after)
    assert "252 comments" in after


def test_reply_link_opens_the_form_on_that_comments_page(client, big_thread):
    uri, _ = big_thread
    page2 = client.get(f"/comments?uri={uri}&page=2").get_data(as_text=True)
    target = _ids(page2)[5]
    form = client.get(f"/comments?uri={uri}&reply={target}&page=2").get_data(as_text=True)
    assert f'name="parent_id" value="{target}"' in form
    assert target in _ids(form)


@pytest.mark.parametrize("query", ["page=99", "page=0", "show={last}", "show=999999"])
def test_any_page_address_is_served_from_the_cache_once_seen(
    client, big_thread, count_queries, query
):
    """A page past the end, or the page of a comment, must not be a way around the cache."""
    uri, root_id = big_thread
    last = _ids(client.get(f"/comments?uri={uri}&page=3").get_data(as_text=True))[-1]
    path = f"/comments?uri={uri}&{query.format(last=last)}"
    client.get(path)
    first = len(count_queries)
    for _ in range(3):
        client.get(path)
    assert len(count_queries) - first == 3  # each only the thread's version
