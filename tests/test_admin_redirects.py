"""After a login or an action the admin goes back only to a plain path of its own pages."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from commentsvc.admin import back
from tests.support.admin import PASSWORD, csrf_token, login, make_moderator

QUEUE = "/admin/"

REFUSED = [
    "/admin/\r\nSet-Cookie:x=1",
    "/admin/\nLocation: https://evil.example",
    "/admin/\rx",
    "/admin/\x00",
    "/admin/\tthreads",
    "/admin/\x7f",
    "/admin/\u2028",
    "//evil.example",
    "//evil.example/admin/",
    "/\\evil.example",
    "/admin\\evil.example",
    "/admin/\\\\evil.example",
    "/admin/../x",
    "/admin/..",
    "/admin/./threads",
    "/admin/%2e%2e/x",
    "/admin/%2E%2E/%2E%2E/x",
    "/admin/%5cevil.example",
    "/admin/%0d%0aSet-Cookie:x=1",
    "/admin//evil.example",
    "/adminx",
    "/administrator",
    "/api/comments",
    "https://evil.example/admin/",
    "http:/admin/",
    "javascript:alert(1)",
    "admin/",
    " /admin/",
    "/admin/ threads",
    "/admin/#/../x",
    "",
]

KEPT = [
    "/admin",
    "/admin/",
    "/admin/threads",
    "/admin/threads?page=2",
    "/admin/?status=pending&q=caf%C3%A9&thread=",
    "/admin/comments/12/edit?next=%2Fadmin%2F",
]


@pytest.mark.parametrize("target", REFUSED)
def test_back_refuses_what_is_not_a_plain_admin_path(app, target):
    with app.test_request_context("/admin/login", method="POST", data={"next": target}):
        response = back()
    assert response.status_code == 303
    assert response.headers["Location"] == QUEUE


@pytest.mark.parametrize("target", KEPT)
def test_back_keeps_a_plain_admin_path(app, target):
    with app.test_request_context("/admin/login", method="POST", data={"next": target}):
        response = back()
    assert response.headers["Location"] == target


def test_back_falls_back_to_the_given_page(app):
    with app.test_request_context("/admin/threads", method="POST", data={"next": "//evil.example"}):
        assert back("admin.threads").headers["Location"] == "/admin/threads"


@pytest.mark.parametrize("target", [t for t in REFUSED if t])
def test_login_with_a_crafted_next_is_refused_and_logs_no_one_in(app, client, target):
    make_moderator(app)
    response = login(client, url="/admin/login?next=" + quote(target, safe=""))
    assert response.status_code == 400
    assert "Location" not in response.headers
    page = response.get_data(as_text=True)
    assert "<h1>Bad request</h1>" in page  # the admin's own error page
    assert "not one of the admin pages" in page
    assert all(name.lower() != "x" for name, _ in response.headers)
    assert not [c for c in response.headers.getlist("Set-Cookie") if c.startswith("x=")]
    assert client.get("/admin/").status_code == 302  # still logged out


def test_the_login_page_with_a_crafted_next_is_refused(app, client):
    response = client.get("/admin/login?next=" + quote("/admin/\r\nSet-Cookie:x=1", safe=""))
    assert response.status_code == 400
    assert "not one of the admin pages" in response.get_data(as_text=True)


def test_login_without_a_next_goes_to_the_queue(app):
    make_moderator(app)
    for url in ("/admin/login", "/admin/login?next="):
        client = app.test_client()
        response = login(client, url=url)
        assert response.status_code == 303, url
        assert response.headers["Location"] == QUEUE


@pytest.mark.parametrize("target", KEPT)
def test_login_goes_on_to_a_plain_admin_path(app, client, target):
    make_moderator(app)
    response = login(client, url="/admin/login?next=" + quote(target, safe=""))
    assert response.status_code == 303
    assert response.headers["Location"] == target


def test_login_goes_back_to_the_page_asked_for(app, client):
    make_moderator(app)
    page = client.get("/admin/threads")
    assert page.status_code == 302
    login_url = page.headers["Location"]
    response = login(client, url=login_url)
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/threads"


def test_an_action_with_a_crafted_next_goes_back_to_the_queue(app, client):
    make_moderator(app)
    token = csrf_token(client)
    assert (
        client.post(
            "/admin/login", data={"name": "mo", "password": PASSWORD, "csrf_token": token}
        ).status_code
        == 303
    )
    response = client.post(
        "/admin/bulk",
        data={
            "csrf_token": csrf_token(client, "/admin/"),
            "action": "approve",
            "ids": [],
            "next": "/admin/\r\nSet-Cookie:x=1",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == QUEUE
