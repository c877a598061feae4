"""Rate limits on edits and previews, and whose address counts: the peer's, or the proxy's word.

With COMMENTSVC_TRUSTED_PROXIES=0 a reader's X-Forwarded-For is their own claim and is ignored;
with 1, the last address the one proxy in front appended is the reader's, for the budgets and
for the (anonymised) address stored with a comment.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from commentsvc.config import settings_of
from commentsvc.extensions import db
from commentsvc.models import Comment

from .conftest import unique_uri

PROXY = "10.0.0.5"  # REMOTE_ADDR as the app sees it behind the proxy


@pytest.fixture
def limited(settings):
    """Small budgets, each on its own: only the one a test is about can bite."""
    settings.update(
        RATELIMIT_ENABLED=True,
        RATELIMIT_POST="100 per minute",
        RATELIMIT_THREAD="100 per minute",
        RATELIMIT_EDIT="2 per minute",
        RATELIMIT_PREVIEW="2 per minute",
    )
    return settings


@pytest.fixture
def few_posts(limited):
    limited.update(RATELIMIT_POST="2 per minute")


@pytest.fixture
def behind_proxy(settings):
    settings.update(TRUSTED_PROXIES=1)


def client_at(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def api_post(client, form_token, uri, text, headers=None):
    return client.post(
        "/api/comments",
        headers=headers or {},
        json={"uri": uri, "text": text, "form_token": form_token(uri)},
    )


def stored_addresses(app) -> dict[str, str | None]:
    with app.app_context():
        rows = db.session.execute(sa.select(Comment.text, Comment.remote_addr)).all()
        db.session.remove()
    return dict(rows)


# --- edits and previews ----------------------------------------------------------------------


@pytest.mark.usefixtures("limited")
def test_edits_beyond_the_budget_are_refused_and_change_nothing(app, make_comment, stored):
    comment = make_comment(unique_uri(), "first words")
    auth = {"Authorization": f"Bearer {comment['edit_token']}"}
    reader = app.test_client()
    codes = [
        reader.patch(
            f"/api/comments/{comment['id']}", json={"text": f"edit {n}"}, headers=auth
        ).status_code
        for n in range(2)
    ]
    before = stored()
    over = reader.patch(
        f"/api/comments/{comment['id']}", json={"text": "one edit too many"}, headers=auth
    )
    assert codes + [over.status_code] == [200, 200, 429]
    assert int(over.headers["Retry-After"]) > 0
    assert stored() == before
    # The budget is the address's: another reader edits their own comment freely.
    theirs = make_comment(unique_uri(), "theirs")
    other = client_at(app, "198.51.100.20")
    assert (
        other.patch(
            f"/api/comments/{theirs['id']}",
            json={"text": "fine"},
            headers={"Authorization": f"Bearer {theirs['edit_token']}"},
        ).status_code
        == 200
    )


@pytest.mark.usefixtures("limited")
def test_deletes_are_rate_limited_too(app, make_comment, stored):
    comments = [make_comment(unique_uri(), f"mine {n}") for n in range(3)]
    reader = app.test_client()
    codes = []
    for n, comment in enumerate(comments):
        if n == 2:
            before = stored()
        codes.append(
            reader.delete(
                f"/api/comments/{comment['id']}",
                headers={"Authorization": f"Bearer {comment['edit_token']}"},
            ).status_code
        )
    assert codes == [200, 200, 429]
    assert stored() == before


@pytest.mark.usefixtures("limited")
def test_edits_and_deletes_spend_one_budget(app, make_comment, stored):
    """RATELIMIT_EDIT is for edits and deletes together: alternating them gains nothing."""
    comments = [make_comment(unique_uri(), f"mine {n}") for n in range(2)]
    reader = app.test_client()

    def auth(comment):
        return {"Authorization": f"Bearer {comment['edit_token']}"}

    edited = reader.patch(
        f"/api/comments/{comments[0]['id']}", json={"text": "changed"}, headers=auth(comments[0])
    )
    deleted = reader.delete(f"/api/comments/{comments[1]['id']}", headers=auth(comments[1]))
    before = stored()
    over = reader.patch(
        f"/api/comments/{comments[0]['id']}", json={"text": "again"}, headers=auth(comments[0])
    )
    assert [edited.status_code, deleted.status_code, over.status_code] == [200, 200, 429]
    assert stored() == before


@pytest.mark.usefixtures("limited")
def test_previews_beyond_the_budget_are_refused(app):
    reader, other = app.test_client(), client_at(app, "198.51.100.21")
    codes = [
        reader.post("/api/preview", json={"text": f"*draft {n}*"}).status_code for n in range(3)
    ]
    assert codes == [200, 200, 429]
    assert other.post("/api/preview", json={"text": "mine"}).status_code == 200


# --- TRUSTED_PROXIES -------------------------------------------------------------------------


@pytest.mark.usefixtures("few_posts")
def test_without_trusted_proxies_a_forged_forwarded_for_is_ignored(app, form_token):
    assert settings_of(app).trusted_proxies == 0  # the default
    reader = app.test_client()
    uri = unique_uri()
    codes = [
        api_post(
            reader, form_token, uri, f"comment {n}", {"X-Forwarded-For": f"203.0.113.{n + 1}"}
        ).status_code
        for n in range(3)
    ]
    # Were the header believed, every post would have had a budget of its own.
    assert codes == [201, 201, 429]
    assert set(stored_addresses(app).values()) == {"127.0.0.0"}  # the peer's, as its /24


@pytest.mark.usefixtures("few_posts", "behind_proxy")
def test_behind_one_trusted_proxy_its_forwarded_address_counts(app, form_token):
    proxy = client_at(app, PROXY)
    uri = unique_uri()

    # One reader, forging an address before the one the proxy appends: the proxy's counts.
    one = [
        api_post(
            proxy,
            form_token,
            uri,
            f"reader one {n}",
            {"X-Forwarded-For": f"203.0.113.{n + 1}, 192.0.2.10"},
        ).status_code
        for n in range(3)
    ]
    # Another reader behind the same proxy has a budget of their own.
    two = api_post(proxy, form_token, uri, "reader two", {"X-Forwarded-For": "198.51.100.99"})

    assert one == [201, 201, 429]
    assert two.status_code == 201
    assert stored_addresses(app) == {
        "reader one 0": "192.0.2.0",
        "reader one 1": "192.0.2.0",
        "reader two": "198.51.100.0",
    }
