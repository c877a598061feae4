"""Real responses match openapi.yaml."""

from __future__ import annotations

import pytest
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_spec_validator import validate

from commentsvc import sites
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


# Every operation that reads `?site=`, called for a site the install does not serve.
UNKNOWN_SITE_CALLS = {
    ("get", "/api/threads"): ("/api/threads", {"uri": "/a.html"}, None),
    ("get", "/api/form-token"): ("/api/form-token", {"uri": "/a.html"}, None),
    ("post", "/api/comments"): ("/api/comments", {}, {"uri": "/a.html", "text": "hi"}),
    ("patch", "/api/comments/{id}"): ("/api/comments/1", {}, {"text": "hi"}),
    ("delete", "/api/comments/{id}"): ("/api/comments/1", {}, None),
    ("post", "/api/comments/{id}/vote"): (
        "/api/comments/1/vote",
        {},
        {"value": 1, "voter": "v" * 16},
    ),
    ("post", "/api/preview"): ("/api/preview", {}, {"text": "hi"}),
    ("get", "/api/counts"): ("/api/counts", {"uri": "/a.html"}, None),
    ("post", "/api/counts"): ("/api/counts", {}, {"uris": ["/a.html"]}),
    ("get", "/feed/thread.atom"): ("/feed/thread.atom", {"uri": "/a.html"}, None),
    ("get", "/feed/recent.atom"): ("/feed/recent.atom", {}, None),
}


def _operations_with_site() -> set[tuple[str, str]]:
    found = set()
    for path, item in openapi_document()["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            names = [
                p.get("$ref", p.get("name"))
                for p in item.get("parameters", []) + operation.get("parameters", [])
            ]
            if "#/components/parameters/Site" in names:
                found.add((method, path))
    return found


def test_the_site_parameter_is_the_site_name_rule():
    site = openapi_document()["components"]["parameters"]["Site"]
    assert site["schema"]["pattern"] == f"^{sites.NAME.pattern}$"


def test_every_operation_but_health_documents_the_site():
    operations = {
        (method, path)
        for path, item in openapi_document()["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert _operations_with_site() == operations - {("get", "/healthz")} == set(UNKNOWN_SITE_CALLS)


@pytest.mark.parametrize("operation", sorted(UNKNOWN_SITE_CALLS), ids="-".join)
def test_an_unknown_site_is_the_documented_400(client, check, operation):
    path, query, body = UNKNOWN_SITE_CALLS[operation]
    answer = check(
        client.open(
            path,
            method=operation[0].upper(),
            query_string={**query, "site": "nowhere"},
            json=body,
        )
    )
    assert answer.status_code == 400
    example = openapi_document()["components"]["responses"]["Error"]["content"]["application/json"][
        "examples"
    ]["unknownSite"]["value"]
    assert answer.get_json() == example


def test_feeds_match_the_spec(client, make_comment, check):
    uri = unique_uri()
    make_comment(uri, "in the feed")
    thread = check(client.get("/feed/thread.atom", query_string={"uri": uri, "site": "default"}))
    assert thread.status_code == 200 and "in the feed" in thread.get_data(as_text=True)
    assert check(client.get("/feed/recent.atom")).status_code == 200
