"""Public reads carry validators and a short public lifetime; a reader's own held comments are
never kept by anyone else; compressed and plain bodies are the same."""

from __future__ import annotations

import gzip

import brotli
import pytest

from commentsvc import create_app
from commentsvc.config import settings_of
from commentsvc.extensions import db
from commentsvc.models import Comment
from commentsvc.moderation import moderate

from .conftest import unique_uri
from .settings_helpers import change_settings


def thread_worth_compressing(make_comment) -> str:
    """A new thread whose page is long enough to be sent compressed."""
    uri = unique_uri()
    for n in range(12):
        make_comment(uri, f"Comment number {n}, long enough to be worth compressing. " * 3)
    return uri


def thread(client, uri, headers=None, **params):
    return client.get("/api/threads", query_string={"uri": uri, **params}, headers=headers or {})


def etag_of(response) -> str:
    return response.headers["ETag"]


def test_a_thread_page_is_public_with_an_etag_and_304_when_unchanged(client, make_comment):
    uri = unique_uri()
    make_comment(uri, "The first word on it")
    make_comment(uri, "And a second one")
    first = thread(client, uri)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "public, max-age=5, stale-while-revalidate=30"
    assert {"Accept-Encoding", "X-Edit-Tokens"} <= set(first.vary)
    again = thread(client, uri, {"If-None-Match": etag_of(first)})
    assert again.status_code == 304
    assert again.data == b""
    assert etag_of(again) == etag_of(first)
    assert again.headers["Cache-Control"] == first.headers["Cache-Control"]
    # Another order is another document, with another tag.
    newest = thread(client, uri, {"If-None-Match": etag_of(first)}, sort="newest", limit=1)
    assert newest.status_code == 200 and etag_of(newest) != etag_of(first)


@pytest.mark.parametrize("change", ["reply", "vote", "edit", "moderator deletes"])
def test_any_change_to_the_thread_gives_a_new_etag(app, client, make_comment, change):
    uri = unique_uri()
    comment = make_comment(uri, "Something to change")
    before = thread(client, uri)
    if change == "reply":
        make_comment(uri, "An answer", parent_id=comment["id"])
    elif change == "vote":
        assert (
            client.post(
                f"/api/comments/{comment['id']}/vote", json={"value": 1, "voter": "v" * 24}
            ).status_code
            == 200
        )
    elif change == "edit":
        assert (
            client.patch(
                f"/api/comments/{comment['id']}",
                json={"text": "Changed my mind"},
                headers={"Authorization": f"Bearer {comment['edit_token']}"},
            ).status_code
            == 200
        )
    else:
        with app.app_context():
            moderate(
                db.session,
                settings_of(app),
                db.session.get(Comment, comment["id"]),
                "delete",
                "test",
            )
            db.session.commit()
    after = thread(client, uri, {"If-None-Match": etag_of(before)})
    assert after.status_code == 200
    assert etag_of(after) != etag_of(before)
    assert after.get_json() != before.get_json()


def test_a_readers_own_held_comment_is_private_and_never_matches_the_public_page(
    settings, app, client, make_comment
):
    change_settings(app, MODERATION="all")
    uri = unique_uri()
    held = make_comment(uri, "Please let me in")
    assert held["status"] == "pending"
    public = thread(client, uri)
    assert public.get_json()["comments"] == []
    mine = thread(
        client, uri, {"X-Edit-Tokens": held["edit_token"], "If-None-Match": etag_of(public)}
    )
    assert mine.status_code == 200  # not the public copy, whatever the client holds
    assert [c["id"] for c in mine.get_json()["comments"]] == [held["id"]]
    assert mine.headers["Cache-Control"] == "private, no-store"
    assert "X-Edit-Tokens" in mine.vary
    # ...and the public page, asked again, still does not show it.
    assert thread(client, uri).get_json()["comments"] == []


def test_gzip_and_plain_bodies_are_the_same_and_either_tag_proves_a_copy_current(
    client, make_comment
):
    uri = thread_worth_compressing(make_comment)
    plain = thread(client, uri)
    packed = thread(client, uri, {"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain.data
    assert len(packed.data) < len(plain.data) / 2
    assert etag_of(packed) != etag_of(plain)
    for tag in (etag_of(plain), etag_of(packed)):
        assert (
            thread(client, uri, {"Accept-Encoding": "gzip", "If-None-Match": tag}).status_code
            == 304
        )


def test_brotli_when_the_client_prefers_it_and_every_tag_proves_a_copy_current(
    client, make_comment
):
    uri = thread_worth_compressing(make_comment)
    plain = thread(client, uri)
    packed = thread(client, uri, {"Accept-Encoding": "gzip, deflate, br"})
    assert packed.headers["Content-Encoding"] == "br"
    assert brotli.decompress(packed.data) == plain.data
    assert len(packed.data) < len(thread(client, uri, {"Accept-Encoding": "gzip"}).data)
    # A client that rates gzip higher gets gzip.
    rated = thread(client, uri, {"Accept-Encoding": "br;q=0.5, gzip"})
    assert rated.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(rated.data) == plain.data
    tags = {etag_of(plain), etag_of(packed), etag_of(rated)}
    assert len(tags) == 3
    for tag in tags:
        again = thread(client, uri, {"Accept-Encoding": "br", "If-None-Match": tag})
        assert again.status_code == 304 and again.data == b""
    assert "Accept-Encoding" in packed.headers["Vary"]


def test_the_widget_script_comes_in_brotli_too(client):
    plain = client.get("/embed.js")
    packed = client.get("/embed.js", headers={"Accept-Encoding": "br"})
    assert packed.headers["Content-Encoding"] == "br"
    assert brotli.decompress(packed.data) == plain.data
    assert etag_of(packed) != etag_of(plain)


def test_small_bodies_are_not_compressed(client):
    response = thread(client, unique_uri(), {"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in response.headers
    assert response.get_json()["count"] == 0


def test_two_processes_give_one_document_one_tag(database_url, settings, client, make_comment):
    uri = unique_uri()
    for n in range(12):
        make_comment(uri, f"Shared between processes {n}. " * 4)
    other = create_app({**settings, "DATABASE_URL": database_url})
    try:
        theirs = thread(other.test_client(), uri, {"Accept-Encoding": "gzip"})
        ours = thread(client, uri, {"Accept-Encoding": "gzip"})
        assert etag_of(theirs) == etag_of(ours)
        assert theirs.data == ours.data
    finally:
        with other.app_context():
            db.engine.dispose()


def test_no_public_lifetime_when_the_setting_is_zero(app, client):
    change_settings(app, PUBLIC_MAX_AGE=0)
    response = thread(client, unique_uri())
    assert response.headers["Cache-Control"] == "no-cache"
    assert thread(client, unique_uri(), {"If-None-Match": etag_of(response)}).status_code in (
        200,
        304,
    )


def test_counts_by_get_are_public_and_conditional_by_post_never_kept(client, make_comment):
    uri = unique_uri()
    make_comment(uri)
    first = client.get("/api/counts", query_string={"uri": uri})
    assert first.get_json() == {"counts": {uri: 1}}
    assert first.headers["Cache-Control"].startswith("public, max-age=")
    assert (
        client.get(
            "/api/counts", query_string={"uri": uri}, headers={"If-None-Match": etag_of(first)}
        ).status_code
        == 304
    )
    make_comment(uri)
    changed = client.get(
        "/api/counts", query_string={"uri": uri}, headers={"If-None-Match": etag_of(first)}
    )
    assert changed.status_code == 200 and changed.get_json() == {"counts": {uri: 2}}
    posted = client.post("/api/counts", json={"uris": [uri]})
    assert posted.get_json() == {"counts": {uri: 2}}
    assert posted.headers["Cache-Control"] == "no-store"


def test_feeds_have_validators(client, make_comment):
    uri = unique_uri()
    make_comment(uri, "Fed to the readers")
    first = client.get("/feed/thread.atom", query_string={"uri": uri})
    assert first.status_code == 200 and first.headers["ETag"]
    # Feed readers poll; a proxy may answer from its copy while it asks the server again.
    control = first.headers["Cache-Control"]
    assert control.startswith("public, max-age=") and "stale-while-revalidate=" in control
    assert (
        client.get(
            "/feed/thread.atom",
            query_string={"uri": uri},
            headers={"If-None-Match": etag_of(first)},
        ).status_code
        == 304
    )
    make_comment(uri, "Another one for the feed")
    assert (
        client.get(
            "/feed/thread.atom",
            query_string={"uri": uri},
            headers={"If-None-Match": etag_of(first)},
        ).status_code
        == 200
    )


def test_a_form_token_is_never_cached_and_checks_its_uri(client):
    good = client.get("/api/form-token", query_string={"uri": unique_uri()})
    assert good.status_code == 200
    assert good.headers["Cache-Control"] == "no-store"
    assert set(good.get_json()) == {"uri", "form_token", "min_submit_seconds"}
    bad = client.get("/api/form-token", query_string={"uri": "javascript:alert(1)"})
    assert bad.status_code == 400
    assert bad.get_json()["error"]["code"] == "validation"
    assert "uri" in bad.get_json()["error"]["fields"]


@pytest.mark.parametrize(
    "before",
    [
        None,
        "",
        "Origin",
        "Accept-Encoding, X-Edit-Tokens",
        "accept-encoding,origin",
        '"x", Origin',
        "Cookie, Cookie",
    ],
)
@pytest.mark.parametrize("name", ["Origin", "ORIGIN", "Accept-Language", "Accept-Encoding"])
def test_adding_to_vary_writes_what_werkzeug_writes(before, name):
    from flask import Response

    from commentsvc.httpcache import add_vary

    ours, theirs = Response("x"), Response("x")
    for response in (ours, theirs):
        response.headers["X-Before"] = "1"
        if before is not None:
            response.headers["Vary"] = before
        response.headers["X-After"] = "1"
    add_vary(ours, name)
    theirs.vary.add(name)
    assert list(ours.headers.items()) == list(theirs.headers.items())
