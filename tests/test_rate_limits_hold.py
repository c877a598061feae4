"""The JSON API and the no-JS form count against one budget, per address and per thread."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from commentsvc import sites
from commentsvc.extensions import db
from commentsvc.models import RateLimitCounter
from commentsvc.tokens import issue_form_token

from .conftest import SECRET, unique_uri


@pytest.fixture
def limited_app(settings, request, database_url):
    settings.update(
        RATELIMIT_ENABLED=True, RATELIMIT_POST="2 per minute", RATELIMIT_THREAD="100 per minute"
    )
    return request.getfixturevalue("app")


def _page_tokens(client, uri):
    html = client.get(f"/comments?uri={uri}").get_data(as_text=True)
    return {
        name: re.search(rf'name="{name}" value="([^"]+)"', html).group(1)
        for name in ("csrf_token", "form_token")
    }


def _form_post(client, uri, text):
    return client.post("/comments", data={**_page_tokens(client, uri), "uri": uri, "text": text})


def _api_post(client, uri, text):
    token = client.get(f"/api/form-token?uri={uri}").get_json()["form_token"]
    return client.post("/api/comments", json={"uri": uri, "text": text, "form_token": token})


def test_the_api_and_the_no_js_form_share_one_budget(limited_app):
    client = limited_app.test_client()
    uri = unique_uri()
    assert _api_post(client, uri, "Through the widget").status_code == 201
    assert _form_post(client, uri, "Through the plain form").status_code == 303
    over_form = _form_post(client, uri, "One too many, plain")
    over_api = _api_post(client, uri, "One too many, widget")
    assert (over_form.status_code, over_api.status_code) == (429, 429)
    assert over_form.headers["Retry-After"] and over_api.headers["Retry-After"]


def test_the_per_thread_limit_holds_for_the_no_js_form(settings, request, database_url):
    settings.update(
        RATELIMIT_ENABLED=True, RATELIMIT_POST="100 per minute", RATELIMIT_THREAD="2 per minute"
    )
    app = request.getfixturevalue("app")
    uri = unique_uri()
    codes = []
    for n in range(3):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"198.51.100.{n + 1}"
        codes.append(_form_post(client, uri, f"Plain form comment {n}").status_code)
    assert codes == [303, 303, 429]
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "198.51.100.9"
    assert _form_post(elsewhere, unique_uri(), "Another thread").status_code == 303


def test_without_redis_the_counters_live_in_the_database(limited_app):
    client = limited_app.test_client()
    assert _api_post(client, unique_uri(), "Counted").status_code == 201
    with limited_app.app_context():
        rows = db.session.execute(sa.select(RateLimitCounter.key, RateLimitCounter.count)).all()
        db.session.remove()
    assert rows and all(count == 1 for _, count in rows)
    assert not any("127.0.0.1" in key for key, _ in rows)  # addresses are kept as digests


def test_two_sites_with_the_same_thread_uri_have_a_budget_each(settings, request, database_url):
    settings.update(
        RATELIMIT_ENABLED=True, RATELIMIT_POST="100 per minute", RATELIMIT_THREAD="2 per minute"
    )
    app = request.getfixturevalue("app")
    with app.app_context():
        sites.add(db.session, "docs", origins=["http://docs.test"], title="The docs")
        db.session.commit()
        db.session.remove()
    uri = unique_uri()

    def post_to(site, n):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"198.51.100.{n}"
        query, origin = (
            ("", "http://blog.test") if site == "default" else ("?site=docs", "http://docs.test")
        )
        body = {
            "uri": uri,
            "text": f"Comment {n}",
            "form_token": issue_form_token(SECRET, site, uri),
        }
        return client.post(f"/api/comments{query}", json=body, headers={"Origin": origin})

    blog = [post_to("default", n).status_code for n in (1, 2, 3)]
    docs = [post_to("docs", n).status_code for n in (4, 5, 6)]
    assert (blog, docs) == ([201, 201, 429], [201, 201, 429])
