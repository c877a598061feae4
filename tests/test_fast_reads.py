"""The fast path for public reads answers exactly as Flask does, header for header, and leaves
everything out of the ordinary to Flask."""

from __future__ import annotations

import json

import pytest
from werkzeug.test import EnvironBuilder, run_wsgi_app

from commentsvc import sites
from commentsvc.config import settings_of
from commentsvc.extensions import db
from commentsvc.fastreads import FastReads
from commentsvc.models import Comment
from commentsvc.moderation import moderate

from .conftest import unique_uri

LONG = "Long enough that a page of these is worth compressing, as most pages are. " * 2


@pytest.fixture
def seeded(app, make_comment, post):
    """A long thread with a reply and a deleted comment that keeps its reply, a short one, and
    a second site listing its own blog."""
    long_uri, short_uri = unique_uri(), unique_uri()
    first = make_comment(long_uri, "The first word. " + LONG)
    for n in range(8):
        make_comment(long_uri, f"Comment {n}. " + LONG)
    doomed = make_comment(long_uri, "Soon deleted. " + LONG)
    make_comment(long_uri, "A reply to the first.", parent_id=first["id"])
    make_comment(long_uri, "A reply to the deleted one.", parent_id=doomed["id"])
    make_comment(short_uri, "Short.")
    with app.app_context():
        moderate(
            db.session, settings_of(app), db.session.get(Comment, doomed["id"]), "delete", "test"
        )
        sites.add(db.session, "other", origins=["https://other.test"])
        db.session.commit()
    return {"long": long_uri, "short": short_uri}


class Recorder:
    """The Flask app behind the fast path, counting the requests that reach it."""

    def __init__(self, flask):
        self.flask = flask
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.flask(environ, start_response)


def call(wsgi, method, path, *, query=None, headers=None, body=None, scheme="http"):
    environ = EnvironBuilder(
        path=path,
        method=method,
        query_string=query,
        headers=headers or {},
        data=body,
        base_url=f"{scheme}://comments.test/",
    ).get_environ()
    app_iter, status, response_headers = run_wsgi_app(wsgi, environ, buffered=True)
    return status, sorted(response_headers.to_wsgi_list()), b"".join(app_iter)


def both(app, method, path, **request):
    """The fast path's answer, Flask's answer, and whether the fast path passed it on."""
    recorder = Recorder(app.wsgi_app.flask)
    fast = call(FastReads(app, recorder), method, path, **request)
    passed_on = recorder.calls == 1
    flask = call(app.wsgi_app.flask, method, path, **request)
    return fast, flask, passed_on


def test_the_app_serves_through_the_fast_path(app):
    assert isinstance(app.wsgi_app, FastReads)


# (query, headers): answered by the fast path itself
THREAD_READS = [
    ({"uri": "{long}"}, {}),
    ({"uri": "{long}", "sort": "newest"}, {}),
    ({"uri": "{long}", "sort": "top", "limit": "3"}, {}),
    ({"uri": "{long}", "limit": "1"}, {"Accept-Encoding": "gzip"}),
    ({"uri": "{long}"}, {"Accept-Encoding": "gzip, deflate, br"}),
    ({"uri": "{long}"}, {"Accept-Encoding": "br;q=0.5, gzip"}),
    ({"uri": "{long}"}, {"Accept-Encoding": "gzip;q=0, br;q=0"}),
    ({"uri": "{short}"}, {"Accept-Encoding": "gzip"}),  # too short to compress
    ({"uri": "/never/commented"}, {}),
    ({"uri": "http://blog.test{short}"}, {}),
    ({"uri": "{long}"}, {"Origin": "http://blog.test"}),
    ({"uri": "{long}"}, {"Origin": "http://comments.test"}),  # the public address
    ({"uri": "{short}", "site": "other"}, {"Origin": "https://other.test"}),
    ({"uri": "{long}", "unknown": "ignored", "uri2": "x"}, {}),
    ({"uri": "{short}"}, {"X-Edit-Tokens": ""}),
    ({"uri": "{long}"}, {"Accept-Language": "fr-CA, fr;q=0.8"}),
]


@pytest.mark.parametrize(("query", "headers"), THREAD_READS)
def test_a_thread_read_is_answered_as_flask_answers_it(app, seeded, query, headers):
    query = {k: v.format(**seeded) for k, v in query.items()}
    fast, flask, passed_on = both(app, "GET", "/api/threads", query=query, headers=headers)
    assert not passed_on
    assert fast == flask
    assert fast[0] == "200 OK"


def test_https_requests_get_hsts_on_the_fast_path_too(app, seeded):
    fast, flask, passed_on = both(
        app, "GET", "/api/threads", query={"uri": seeded["long"]}, scheme="https"
    )
    assert not passed_on and fast == flask
    assert ("Strict-Transport-Security", "max-age=31536000; includeSubDomains") in fast[1]


@pytest.mark.parametrize("encoding", ["", "gzip", "br"])
@pytest.mark.parametrize("weak", [False, True])
def test_an_unchanged_thread_is_304_on_the_fast_path_as_in_flask(app, seeded, encoding, weak):
    headers = {"Accept-Encoding": encoding} if encoding else {}
    query = {"uri": seeded["long"]}
    _status, first, _body = call(
        app.wsgi_app.flask, "GET", "/api/threads", query=query, headers=headers
    )
    etag = dict(first)["ETag"]
    headers["If-None-Match"] = f'"other", W/{etag}' if weak else etag
    fast, flask, passed_on = both(app, "GET", "/api/threads", query=query, headers=headers)
    assert not passed_on
    assert fast == flask
    assert fast[0] == "304 NOT MODIFIED" and fast[2] == b""


def test_a_stale_tag_gets_the_whole_page(app, seeded):
    headers = {"If-None-Match": '"0123456789abcdef01234567"'}
    fast, flask, passed_on = both(
        app, "GET", "/api/threads", query={"uri": seeded["long"]}, headers=headers
    )
    assert not passed_on and fast == flask and fast[0] == "200 OK"


def test_a_later_page_by_cursor_is_the_same(app, seeded):
    query = {"uri": seeded["long"], "limit": "2"}
    first = json.loads(call(app.wsgi_app, "GET", "/api/threads", query=query)[2])
    assert first["next"]
    fast, flask, passed_on = both(
        app, "GET", "/api/threads", query={**query, "after": first["next"]}
    )
    assert not passed_on and fast == flask
    assert json.loads(fast[2])["comments"][0]["id"] != first["comments"][0]["id"]


# Requests the fast path leaves to Flask, which gives the error, the warning or the private page.
THREAD_HANDED_ON = [
    ({"uri": ""}, {}),
    ({"uri": "https://elsewhere.test/page"}, {}),
    ({"uri": "{long}", "sort": "sideways"}, {}),
    ({"uri": "{long}", "limit": "0"}, {}),
    ({"uri": "{long}", "limit": "many"}, {}),
    ({"uri": "{long}", "after": "not-a-cursor"}, {}),
    ({"uri": "{long}", "after": "1.2.3"}, {}),  # a cursor of another order
    ({"uri": "{long}", "site": "nowhere"}, {}),
    ({"uri": "{long}"}, {"Origin": "https://stranger.test"}),
    ({"uri": "{long}"}, {"Origin": "https://other.test"}),  # another site's blog
    ({"uri": "{long}"}, {"X-Edit-Tokens": "not-a-token"}),
]


@pytest.mark.parametrize(("query", "headers"), THREAD_HANDED_ON)
def test_anything_unusual_about_a_thread_read_is_left_to_flask(app, seeded, query, headers):
    query = {k: v.format(**seeded) for k, v in query.items()}
    fast, flask, passed_on = both(app, "GET", "/api/threads", query=query, headers=headers)
    assert passed_on
    assert fast == flask


def test_other_methods_and_paths_go_to_flask(app, seeded):
    for method, path in [
        ("HEAD", "/api/threads"),
        ("OPTIONS", "/api/counts"),
        ("GET", "/api/threads/"),
        ("GET", "/healthz"),
    ]:
        fast, flask, passed_on = both(app, method, path, query={"uri": seeded["long"]})
        assert passed_on, (method, path)
        assert fast[0] == flask[0]


@pytest.mark.parametrize(
    ("uris", "headers", "fast_path"),
    [
        (["{long}", "{short}", "/never/commented"], {}, True),
        (["{short}", "{short}"], {"Origin": "http://blog.test"}, True),
        ([], {}, True),
        (["{long}"], {"Origin": "https://stranger.test"}, False),
        (["not a path"], {}, False),
        ([f"/page/{n}" for n in range(101)], {}, False),
    ],
)
def test_counts_read_by_get_are_answered_as_flask_answers_them(
    app, seeded, uris, headers, fast_path
):
    query = [("uri", u.format(**seeded)) for u in uris]
    fast, flask, passed_on = both(app, "GET", "/api/counts", query=query, headers=headers)
    assert passed_on is not fast_path
    assert fast == flask


POSTED = [
    # body, content type, headers, answered by the fast path
    ('{"uris": ["{long}", "{short}", "/never"]}', "application/json", {}, True),
    (
        '{"uris": ["{long}"]}',
        "application/json; charset=utf-8",
        {"Origin": "http://blog.test"},
        True,
    ),
    ('{"uris": ["{short}"]}', "application/json", {"Origin": "https://stranger.test"}, False),
    ('{"uris": ["{short}"]}', "text/plain", {}, False),
    ('{"uris": ["{short}"]', "application/json", {}, False),
    ('["{short}"]', "application/json", {}, False),
    ('{"uris": "{short}"}', "application/json", {}, False),
    ('{"uris": ["{short}"], "n": NaN}', "application/json", {}, False),  # only Python's JSON
    ('\ufeff{"uris": ["{short}"]}', "application/json", {}, False),
    ('{"uris": ["' + "/x" * 40_000 + '"]}', "application/json", {}, False),  # over the limit
]


@pytest.mark.parametrize(("body", "content_type", "headers", "fast_path"), POSTED)
def test_counts_posted_are_answered_as_flask_answers_them(
    app, seeded, body, content_type, headers, fast_path
):
    raw = body.replace("{long}", seeded["long"]).replace("{short}", seeded["short"]).encode()
    headers = {**headers, "Content-Type": content_type}
    fast, flask, passed_on = both(app, "POST", "/api/counts", headers=headers, body=raw)
    assert passed_on is not fast_path
    assert fast == flask
    if fast_path:
        assert fast[0] == "200 OK"


def test_counts_on_the_fast_path_follow_every_change(app, client, seeded, make_comment):
    def counted():
        return json.loads(call(app.wsgi_app, "GET", "/api/counts", query=[("uri", uri)])[2])

    uri = seeded["short"]
    assert counted() == {"counts": {uri: 1}}
    extra = make_comment(uri, "One more.")
    assert counted() == {"counts": {uri: 2}}
    with app.app_context():
        moderate(db.session, settings_of(app), db.session.get(Comment, extra["id"]), "spam", "test")
        db.session.commit()
    assert counted() == {"counts": {uri: 1}}
