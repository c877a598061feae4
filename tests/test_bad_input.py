"""Bad input gets a clear 4xx in the error shape, and nothing stored changes."""

from __future__ import annotations

import json

import pytest

from commentsvc.config import settings_of

from .conftest import unique_uri

URI = "/posts/bad-input.html"


def _error(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] and body["error"]["message"]
    return body["error"]


BAD_COMMENTS = {
    "missing text": ({"uri": URI}, "text"),
    "empty text": ({"uri": URI, "text": ""}, "text"),
    "blank text": ({"uri": URI, "text": " \n\t "}, "text"),
    "text not a string": ({"uri": URI, "text": ["a"]}, "text"),
    "oversized text": ({"uri": URI, "text": "x" * 10001}, "text"),
    "NUL in text": ({"uri": URI, "text": "a\x00b"}, "text"),
    "lone surrogate": ({"uri": URI, "text": "\ud800"}, "text"),
    "missing uri": ({"text": "hi"}, "uri"),
    "uri with spaces": ({"uri": "/a b", "text": "hi"}, "uri"),
    "uri too long": ({"uri": "/" + "a" * 500, "text": "hi"}, "uri"),
    "non-numeric parent": ({"uri": URI, "text": "hi", "parent_id": "12"}, "parent_id"),
    "boolean parent": ({"uri": URI, "text": "hi", "parent_id": True}, "parent_id"),
    "negative parent": ({"uri": URI, "text": "hi", "parent_id": -1}, "parent_id"),
    "huge parent": ({"uri": URI, "text": "hi", "parent_id": 10**30}, "parent_id"),
    "javascript website": ({"uri": URI, "text": "hi", "website": "javascript:alert(1)"}, "website"),
    "data website": ({"uri": URI, "text": "hi", "website": "data:text/html,x"}, "website"),
    "ftp website": ({"uri": URI, "text": "hi", "website": "ftp://example.com"}, "website"),
    "website without host": ({"uri": URI, "text": "hi", "website": "https://"}, "website"),
    "bad e-mail": ({"uri": URI, "text": "hi", "email": "not-an-address"}, "email"),
    "e-mail with spaces": ({"uri": URI, "text": "hi", "email": "a b@example.com"}, "email"),
    "author too long": ({"uri": URI, "text": "hi", "author": "A" * 81}, "author"),
    "author with control": ({"uri": URI, "text": "hi", "author": "Ann\x07"}, "author"),
    "notify not boolean": ({"uri": URI, "text": "hi", "notify": "yes"}, "notify"),
}


@pytest.mark.parametrize("body, field", BAD_COMMENTS.values(), ids=BAD_COMMENTS.keys())
def test_bad_comment_is_refused_with_its_field(
    client, make_comment, stored, form_token, body, field
):
    make_comment(URI, "already here")
    before = stored()
    error = _error(client.post("/api/comments", json={**body, "form_token": form_token(URI)}), 400)
    assert error["code"] == "validation"
    assert field in error["fields"]
    assert stored() == before


def test_several_bad_fields_are_reported_together(client):
    error = _error(client.post("/api/comments", json={"website": "x:y", "email": "@"}), 400)
    assert {"uri", "text", "website", "email"} <= set(error["fields"])


RAW_BODIES = {
    "broken JSON": (b'{"uri": "/a", "text": ', "application/json", 400),
    "JSON list": (b'[{"uri": "/a", "text": "hi"}]', "application/json", 400),
    "JSON string": (b'"hello"', "application/json", 400),
    "JSON null": (b"null", "application/json", 400),
    "form body": (b"uri=%2Fa&text=hi", "application/x-www-form-urlencoded", 415),
    "plain text": (b"hi", "text/plain", 415),
    "no body": (b"", "application/json", 400),
    "invalid UTF-8": (b'{"uri": "/a", "text": "\xff\xfe"}', "application/json", 400),
}


@pytest.mark.parametrize("path", ["/api/comments", "/api/preview", "/api/counts"])
@pytest.mark.parametrize("data, content_type, status", RAW_BODIES.values(), ids=RAW_BODIES.keys())
def test_bodies_that_are_not_a_json_object_are_refused(
    client, make_comment, stored, path, data, content_type, status
):
    make_comment(URI, "already here")
    before = stored()
    _error(client.post(path, data=data, content_type=content_type), status)
    assert stored() == before


def test_oversized_body_is_413(app, client, make_comment, stored):
    make_comment(URI, "already here")
    before = stored()
    body = json.dumps({"uri": URI, "text": "x" * (settings_of(app).max_body_bytes + 1)})
    error = _error(client.post("/api/comments", data=body, content_type="application/json"), 413)
    assert error["code"] == "too_large"
    assert stored() == before


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"uri": ""},
        {"uri": "/a", "limit": "ten"},
        {"uri": "/a", "limit": "0"},
        {"uri": "/a", "limit": "100000"},
        {"uri": "/a", "sort": "best"},
        {"uri": "/a", "after": "x.y"},
        {"uri": "/a", "site": "other"},
    ],
)
def test_bad_thread_queries_are_400(client, query):
    assert _error(client.get("/api/threads", query_string=query), 400)["code"] in (
        "validation",
        "bad_request",
    )


@pytest.mark.parametrize(
    "body", [{"uris": "a"}, {"uris": [1]}, {"uris": [""]}, {"uris": ["/a"] * 101}, {}]
)
def test_bad_count_requests_are_400(client, body):
    _error(client.post("/api/counts", json=body), 400)


def test_too_many_count_uris_in_the_query_is_400(client):
    _error(client.get("/api/counts", query_string=[("uri", f"/{i}") for i in range(101)]), 400)


@pytest.mark.parametrize(
    "method, path",
    [
        ("patch", "/api/comments/999999"),
        ("delete", "/api/comments/abc"),
        ("get", "/api/nowhere"),
        ("put", "/api/comments"),
    ],
)
def test_unknown_routes_and_methods_answer_in_the_error_shape(client, method, path):
    response = getattr(client, method)(path, json={"text": "x"})
    assert 400 <= response.status_code < 500
    _error(response, response.status_code)


def test_edit_with_bad_text_changes_nothing(client, make_comment, stored):
    comment = make_comment(unique_uri(), "keep me")
    before = stored()
    error = _error(
        client.patch(
            f"/api/comments/{comment['id']}",
            json={"text": "  "},
            headers={"Authorization": f"Bearer {comment['edit_token']}"},
        ),
        400,
    )
    assert "text" in error["fields"]
    assert stored() == before


@pytest.mark.parametrize("uri", ["/a\x00b", "/a\tb", "/a b", "/\x7f"])
def test_thread_uris_with_control_characters_are_400_everywhere(client, uri):
    _error(client.get("/api/threads", query_string={"uri": uri}), 400)
    _error(client.get("/api/counts", query_string={"uri": uri}), 400)
    _error(client.post("/api/counts", json={"uris": [uri]}), 400)


def test_thread_uri_with_a_lone_surrogate_is_400(client):
    body = b'{"uris": ["/\\ud800"]}'
    _error(client.post("/api/counts", data=body, content_type="application/json"), 400)
