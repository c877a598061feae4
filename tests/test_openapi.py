"""Real responses match openapi.yaml."""

from __future__ import annotations

import pytest
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_spec_validator import validate

from commentsvc.api.spec import openapi_document

from .conftest import unique_uri


@pytest.fixture(scope="module")
def spec():
    return OpenAPI.from_dict(openapi_document())


@pytest.fixture
def check(spec):
    """Validate a test-client response against the spec and return it."""

    def _check(response):
        sent = response.request
        request = MockRequest(
            "http://localhost",
            sent.method.lower(),
            sent.path,
            args=sent.args,
            headers=dict(sent.headers),
        )
        answer = MockResponse(
            response.get_data(),
            status_code=response.status_code,
            content_type=response.mimetype,
            headers=dict(response.headers),
        )
        spec.validate_response(request, answer)
        return response

    return _check


def test_the_document_is_valid_openapi(client):
    served = client.get("/api/openapi.json").get_json()
    validate(served)
    assert served == openapi_document()


def test_thread_reads_match_the_spec(client, make_comment, check):
    uri = unique_uri()
    assert check(client.get("/api/threads", query_string={"uri": uri})).status_code == 200
    top = make_comment(uri, "**top** https://example.com", author="Ann", website="ann.example")
    make_comment(uri, "reply", parent_id=top["id"])
    deleted = make_comment(uri, "gone", parent_id=top["id"])
    make_comment(uri, "under gone", parent_id=deleted["id"])
    client.delete(
        f"/api/comments/{deleted['id']}",
        headers={"Authorization": f"Bearer {deleted['edit_token']}"},
    )
    body = check(client.get("/api/threads", query_string={"uri": uri, "limit": 1})).get_json()
    assert body["count"] == 3
    check(client.get("/api/threads", query_string={"uri": uri, "after": "x"}))


def test_writes_and_their_errors_match_the_spec(client, post, check):
    uri = unique_uri()
    created = check(post(uri, "hello", email="a@example.com"))
    assert created.status_code == 201
    token = created.get_json()["edit_token"]
    auth = {"Authorization": f"Bearer {token}"}
    comment_id = created.get_json()["id"]
    assert (
        check(
            client.patch(f"/api/comments/{comment_id}", json={"text": "edited"}, headers=auth)
        ).status_code
        == 200
    )
    assert (
        check(
            client.patch(f"/api/comments/{comment_id}", json={"text": ""}, headers=auth)
        ).status_code
        == 400
    )
    assert check(client.delete(f"/api/comments/{comment_id}")).status_code == 403
    assert check(client.delete(f"/api/comments/{comment_id}", headers=auth)).status_code == 200
    assert check(client.delete(f"/api/comments/{comment_id}", headers=auth)).status_code == 404
    assert check(post(uri, "")).status_code == 400
    assert check(client.post("/api/comments", data="text=hi")).status_code == 415
    assert check(client.post("/api/preview", json={"text": "*hi*"})).get_json() == {
        "html": "<p><em>hi</em></p>"
    }


def test_counts_and_health_match_the_spec(client, make_comment, check):
    uri = unique_uri()
    make_comment(uri)
    assert check(client.get("/api/counts", query_string={"uri": [uri, "/none"]})).status_code == 200
    assert check(client.post("/api/counts", json={"uris": [uri]})).status_code == 200
    assert check(client.post("/api/counts", json={"uris": "nope"})).status_code == 400
    health = check(client.get("/healthz")).get_json()
    assert (health["status"], health["database"]) == ("ok", "ok") and health["version"]
