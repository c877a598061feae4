"""Security headers on the service's pages and files."""

from __future__ import annotations

import pytest

from .conftest import unique_uri

HTML_PAGES = [
    "/demo",
    "/demo/posts",
    "/admin/login",
    "/comments?uri=/2008/01/persistence-pays-off.html",
]


@pytest.mark.parametrize("path", HTML_PAGES)
def test_html_pages_have_a_strict_csp(client, path):
    response = client.get(path)
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] in ("'self'", "'none'")
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert directives.get("object-src", directives["default-src"]) == "'none'"
    assert directives["base-uri"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]
    body = response.get_data(as_text=True)
    assert "<script>" not in body and " style=" not in body and "<style" not in body


def test_admin_pages_cannot_be_framed(client):
    response = client.get("/admin/login")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def test_api_responses_are_not_sniffed(client):
    response = client.get("/api/threads", query_string={"uri": unique_uri()})
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" not in response.headers


def test_widget_files_may_be_embedded_cross_origin(client):
    for path in ("/embed.js", "/count.js"):
        assert client.get(path).headers["Cross-Origin-Resource-Policy"] == "cross-origin"


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/demo").headers
    secure = client.get("/demo", base_url="https://comments.test")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_hsts_behind_a_trusted_proxy(database_url, settings):
    from commentsvc import create_app

    app = create_app({**settings, "DATABASE_URL": database_url, "TRUSTED_PROXIES": 1})
    response = app.test_client().get("/demo", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" in response.headers
    untrusted = create_app({**settings, "DATABASE_URL": database_url})
    response = untrusted.test_client().get("/demo", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in response.headers


def sent_names(response) -> set[str]:
    """The header names exactly as they go out on the wire (HTTP/1.1 keeps their spelling)."""
    return {name for name, _ in response.headers.items()}


def test_security_headers_go_out_in_their_usual_spelling(client):
    # Header names are case-insensitive, but HTTP/1.1 sends them as written, and log lines,
    # header scanners and people reading `curl -i` look for the usual spelling.
    page = sent_names(client.get("/demo", base_url="https://comments.test"))
    assert {
        "Content-Security-Policy",
        "X-Frame-Options",
        "X-Content-Type-Options",
        "Referrer-Policy",
        "Strict-Transport-Security",
    } <= page
    api = sent_names(client.get("/api/threads", query_string={"uri": unique_uri()}))
    assert {"X-Content-Type-Options", "Referrer-Policy"} <= api
    # The admin's stricter referrer policy replaces the general one under the same spelling.
    admin = client.get("/admin/login")
    assert "Referrer-Policy" in sent_names(admin)
    assert admin.headers.getlist("Referrer-Policy") == ["same-origin"]


def test_a_response_that_chose_its_own_hsts_keeps_it(database_url, settings):
    from flask import Response

    from commentsvc import create_app

    app = create_app({**settings, "DATABASE_URL": database_url})

    @app.get("/own-hsts")
    def own_hsts():
        return Response("x", headers={"Strict-Transport-Security": "max-age=60"})

    response = app.test_client().get("/own-hsts", base_url="https://comments.test")
    assert response.headers.getlist("Strict-Transport-Security") == ["max-age=60"]
