"""Names, websites, thread addresses and avatars cannot be used to impersonate, mislead or
link people: invisible characters go, websites are real addresses, a thread is a page of the
blog, an avatar tells nothing about the e-mail alone, and moderators' replies are marked."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from commentsvc.comments import reply_as_moderator
from commentsvc.config import settings_of
from commentsvc.extensions import db
from commentsvc.models import Comment, Moderator, Role

from .conftest import unique_uri


@pytest.mark.parametrize(
    "sent, shown",
    [
        ("a\u200bnn", "ann"),  # zero-width space
        ("\u202eann", "ann"),  # right-to-left override
        ("an\u2066n\u2069", "ann"),  # isolates
        ("\u200e\u200fAnn\ufeff", "Ann"),  # marks and a BOM
        ("Ann  \u00ad Smith", "Ann Smith"),  # soft hyphen, spaces collapsed
        ("\u200b\u3164", None),  # nothing visible left: anonymous
    ],
)
def test_invisible_and_bidi_characters_are_stripped_from_names(make_comment, sent, shown):
    assert make_comment(unique_uri(), "Hello", author=sent)["author"] == shown


@pytest.mark.parametrize(
    "uri",
    [
        "javascript:alert(1)",
        "https://evil.example/phish",
        "//evil.example/x",
        "/\\evil.example",
        "data:text/html,x",
        "post.html",
        "http://blog.test.evil.example/x",
    ],
)
def test_a_thread_uri_must_be_a_path_or_on_the_blogs_origin(client, post, stored, uri):
    before = stored()
    response = post(uri, "Hello")
    assert response.status_code == 400
    assert "uri" in response.get_json()["error"]["fields"]
    assert client.get(f"/api/threads?uri={quote(uri)}").status_code == 400
    assert client.get(f"/api/counts?uri={quote(uri)}").status_code == 400
    assert client.get(f"/comments?uri={quote(uri)}").status_code == 400
    assert stored() == before


def test_a_full_address_on_the_blogs_own_origin_names_a_thread(make_comment, client):
    uri = "http://blog.test/2008/01/persistence-pays-off.html"
    make_comment(uri, "On the blog's own site")
    assert client.get(f"/api/threads?uri={quote(uri)}").get_json()["count"] == 1


@pytest.mark.parametrize(
    "website",
    [
        'https://"><script>alert(1)</script>',
        "https://exa mple.com",
        "https://<b>.example",
        "https://user:pw@bank.example.evil.example",
        "https://example",
        "https://ex_ample.com",
        "http://example.com:99999/",
        "https://example.com/`x`",
        "https://-bad-.example",
    ],
)
def test_the_website_must_be_a_real_http_address(post, website):
    response = post(unique_uri(), "Hello", website=website)
    assert response.status_code == 400
    assert "website" in response.get_json()["error"]["fields"]


@pytest.mark.parametrize(
    "website",
    [
        "https://ann.example",
        "ann.example/blog?p=1#top",
        "http://192.0.2.1:8080/",
        "https://[2001:db8::1]/",
        "https://bücher.example/",
    ],
)
def test_real_websites_are_accepted(post, website):
    assert post(unique_uri(), "Hello", website=website).status_code == 201


def test_avatars_cannot_link_two_names_to_one_email(make_comment):
    uri = unique_uri()
    ann = make_comment(uri, "One", author="Ann", email="same@example.com")
    bob = make_comment(uri, "Two", author="Bob", email="same@example.com")
    ann_again = make_comment(uri, "Three", author="Ann", email="same@example.com")
    assert ann["avatar"] != bob["avatar"]
    assert ann["avatar"] == ann_again["avatar"]  # still one picture per person


def test_a_moderators_reply_shows_their_display_name_and_a_badge(app, client, make_comment):
    uri = unique_uri()
    reader = make_comment(uri, "A question", author="Ann")
    with app.app_context():
        moderator = Moderator(
            name="mod7",
            display_name="Carol (editor)",
            email="carol@example.com",
            password_hash="x",
            role=Role.admin,
        )
        db.session.add(moderator)
        db.session.flush()
        reply_as_moderator(
            db.session,
            settings_of(app),
            db.session.get(Comment, reader["id"]),
            moderator,
            "An answer",
        )
        db.session.commit()
    [root] = client.get(f"/api/threads?uri={uri}").get_json()["comments"]
    [reply] = root["replies"]
    assert (root["moderator"], reply["moderator"]) == (False, True)
    # One rule for every avatar: the e-mail and the name together.
    same_person = make_comment(uri, "Also me", author="Carol (editor)", email="carol@example.com")
    other_name = make_comment(uri, "Not linked", author="A Fan", email="carol@example.com")
    assert same_person["avatar"] == reply["avatar"] != other_name["avatar"]
    assert reply["author"] == "Carol (editor)"
    page = client.get(f"/comments?uri={uri}").get_data(as_text=True)
    assert page.count('<span class="csvc-badge">moderator</span>') == 1
    assert "mod7" not in page
