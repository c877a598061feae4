"""A scripted bot cannot reuse one form token, carry it to another thread, or repeat its text
with a trailing dot or an invisible character."""

from __future__ import annotations

import re
import time

import pytest
import sqlalchemy as sa

from commentsvc.config import settings_of
from commentsvc.extensions import db
from commentsvc.models import Comment, Status
from commentsvc.tokens import issue_form_token

from .conftest import unique_uri


def _token(client, uri):
    return client.get(f"/api/form-token?uri={uri}").get_json()["form_token"]


def _post(client, uri, text, token, **fields):
    response = client.post(
        "/api/comments", json={"uri": uri, "text": text, "form_token": token, **fields}
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _stored(app, comment_id):
    with app.app_context():
        row = db.session.execute(
            sa.select(Comment.status, Comment.held_reason).where(Comment.id == comment_id)
        ).one()
        db.session.remove()
    return row


def test_a_form_token_works_once(app, client):
    uri = unique_uri()
    token = _token(client, uri)
    first = _post(client, uri, "First, a real comment", token)
    second = _post(client, uri, "Second, the same token", token)
    assert first["status"] == "approved"
    assert second["status"] == "pending"  # quietly: the bot is not told
    assert _stored(app, second["id"]) == (Status.spam, "bot signal: form token used before")


def test_a_form_token_spent_while_the_post_was_checked_makes_it_spam(app, client, monkeypatch):
    """A post reads whether its token was used, does its checks, and marks the token used only
    with its own writes. Two posts racing with one token both find it unused at first (as
    here, where that read is made to miss the first post): the second is still caught when
    it marks the token, and stored as spam, not published."""
    from commentsvc import antispam

    uri = unique_uri()
    token = _token(client, uri)
    first = _post(client, uri, "First, a real comment", token)
    monkeypatch.setattr(antispam, "form_token_used", lambda session, token: False)
    second = _post(client, uri, "Second, the same token, at the same moment", token)
    assert first["status"] == "approved"
    assert second["status"] == "pending"
    assert _stored(app, second["id"]) == (Status.spam, "bot signal: form token used before")
    assert _stored(app, first["id"]) == (Status.approved, None)


def test_a_form_token_is_bound_to_its_thread(app, client):
    here, there = unique_uri(), unique_uri()
    moved = _post(client, there, "Token from another thread", _token(client, here))
    assert moved["status"] == "pending"
    assert _stored(app, moved["id"]) == (
        Status.spam,
        "bot signal: form token forged or for another thread",
    )


@pytest.fixture
def default_pace(settings):
    """The bot timing as shipped: the suite's MIN_SUBMIT_SECONDS=0 is taken away."""
    del settings["MIN_SUBMIT_SECONDS"]


@pytest.mark.usefixtures("default_pace")
def test_the_default_pace_takes_a_person_and_not_a_stale_or_hasty_token(app, client):
    """With MIN_SUBMIT_SECONDS at its default (3), a token 4 s old is a person's; one older
    than FORM_TOKEN_MAX_AGE, or one sent at once, is a bot's. The tokens are real, issued in
    the past, and go through the real check."""
    secret, max_age = app.config["SECRET_KEY"], settings_of(app).form_token_max_age
    assert settings_of(app).min_submit_seconds == 3
    uri = unique_uri()

    def post_with_token_issued(seconds_ago: float, text: str) -> dict:
        token = issue_form_token(secret, "default", uri, issued=time.time() - seconds_ago)
        return _post(client, uri, text, token)

    typed = post_with_token_issued(4, "Four seconds of typing")
    assert typed["status"] == "approved"
    assert _stored(app, typed["id"]) == (Status.approved, None)
    slow = post_with_token_issued(max_age - 60, "A day with the tab open, nearly")
    assert _stored(app, slow["id"]) == (Status.approved, None)

    stale = post_with_token_issued(max_age + 2, "A token from the day before yesterday")
    assert stale["status"] == "pending"  # quietly: the bot is not told
    assert _stored(app, stale["id"]) == (Status.spam, "bot signal: form token too old")
    hasty = post_with_token_issued(0, "Sent the moment the form appeared")
    assert _stored(app, hasty["id"]) == (Status.spam, "bot signal: posted too fast")


def test_each_readers_token_is_their_own(client):
    uri = unique_uri()
    assert len({_token(client, uri) for _ in range(5)}) == 5


def test_the_answer_to_a_post_brings_the_next_token(app, client):
    uri = unique_uri()
    first = _post(client, uri, "First", _token(client, uri))
    reply = _post(client, uri, "And a reply", first["form_token"], parent_id=first["id"])
    assert reply["status"] == "approved"
    assert first["form_token"] != reply["form_token"]


@pytest.mark.parametrize(
    "again",
    [
        "Great post, see my site.",  # a trailing dot
        "Great post, see my site\u200b",  # a zero-width space
        "great POST,   see my site",  # case and spacing
        "Great post! See my site!!",  # other punctuation
        "\ufeffGreat post, see\u00a0my site",  # a BOM and a no-break space
    ],
    ids=["dot", "zero-width", "case-space", "punctuation", "bom-nbsp"],
)
def test_duplicates_are_found_on_normalised_text(app, client, again):
    uri = unique_uri()
    one = _post(client, uri, "Great post, see my site", _token(client, uri))
    uri = unique_uri()
    two = _post(client, uri, again, _token(client, uri))
    assert (one["status"], two["status"]) == ("approved", "pending")
    assert _stored(app, two["id"]) == (
        Status.spam,
        "bot signal: same text again from the same source",
    )


def test_different_words_are_not_duplicates(client):
    statuses = []
    for text in ("I agree", "I disagree"):
        uri = unique_uri()
        statuses.append(_post(client, uri, text, _token(client, uri))["status"])
    assert statuses == ["approved", "approved"]


def _page_tokens(html):
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    form = re.search(r'name="form_token" value="([^"]+)"', html).group(1)
    return csrf, form


def test_the_no_js_form_token_works_once_too(app, client):
    uri = unique_uri()
    csrf, token = _page_tokens(client.get(f"/comments?uri={uri}").get_data(as_text=True))
    for text in ("From the plain form", "Again with the same page"):
        response = client.post(
            "/comments", data={"csrf_token": csrf, "form_token": token, "uri": uri, "text": text}
        )
        assert response.status_code == 303
    with app.app_context():
        rows = db.session.execute(
            sa.select(Comment.text, Comment.status, Comment.held_reason).order_by(Comment.id)
        ).all()
        db.session.remove()
    assert rows == [
        ("From the plain form", Status.approved, None),
        ("Again with the same page", Status.spam, "bot signal: form token used before"),
    ]


@pytest.fixture
def few_tokens(settings, request, database_url):
    settings.update(RATELIMIT_ENABLED=True, RATELIMIT_FORM_TOKEN="3 per minute")
    return request.getfixturevalue("app")


def test_form_tokens_are_rate_limited_per_address(few_tokens):
    """The API and the no-JS page (whose form carries a token) share one budget."""
    client = few_tokens.test_client()
    uri = unique_uri()
    assert client.get(f"/api/form-token?uri={uri}").status_code == 200
    assert client.get(f"/comments?uri={uri}").status_code == 200
    assert client.get(f"/api/form-token?uri={uri}").status_code == 200
    over_api = client.get(f"/api/form-token?uri={uri}")
    assert over_api.status_code == 429
    error = over_api.get_json()["error"]
    assert error["code"] == "rate_limited" and error["message"]
    assert over_api.headers["Retry-After"]
    over_page = client.get(f"/comments?uri={uri}")
    assert over_page.status_code == 429
    assert "form_token" not in over_page.get_data(as_text=True)
    assert over_page.headers["Retry-After"]
    elsewhere = few_tokens.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert elsewhere.get(f"/api/form-token?uri={uri}").status_code == 200


def test_the_form_token_limit_has_a_generous_default(app):
    assert settings_of(app).ratelimit_form_token == "60 per minute"
