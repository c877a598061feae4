"""Spam defences that need no third party, and the optional Akismet-compatible check."""

from __future__ import annotations

import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from commentsvc.extensions import db
from commentsvc.models import Comment, Status

from .conftest import unique_uri


def _stored(app, comment_id):
    with app.app_context():
        row = db.session.execute(
            sa.select(Comment.status, Comment.held_reason).where(Comment.id == comment_id)
        ).one()
    return row.status, row.held_reason


def test_same_text_again_from_the_same_source_is_spam_quietly(app, post):
    first = post(unique_uri(), "Great post, visit my site")
    again = post(unique_uri(), "Great post, visit my site")
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.get_json()["status"] == "approved"
    assert again.get_json()["status"] == "pending"
    assert _stored(app, again.get_json()["id"]) == (
        Status.spam,
        "bot signal: same text again from the same source",
    )


def test_same_text_from_another_address_is_fine(app, client, form_token):
    body = {"uri": unique_uri(), "text": "Me too!"}
    one = client.post("/api/comments", json={**body, "form_token": form_token(body["uri"])})
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    two = other.post("/api/comments", json={**body, "form_token": form_token(body["uri"])})
    assert one.get_json()["status"] == two.get_json()["status"] == "approved"


def test_duplicate_check_can_be_turned_off(settings, request, database_url):
    settings["DUPLICATE_WINDOW"] = 0
    post = request.getfixturevalue("post")
    assert [post(unique_uri(), "same").get_json()["status"] for _ in range(2)] == [
        "approved",
        "approved",
    ]


def test_per_thread_rate_limit_counts_every_address(settings, request, database_url):
    settings.update(
        RATELIMIT_ENABLED=True, RATELIMIT_THREAD="2 per minute", RATELIMIT_POST="100 per minute"
    )
    app = request.getfixturevalue("app")
    form_token = request.getfixturevalue("form_token")
    uri = unique_uri()
    codes = []
    for n in range(3):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"198.51.100.{n + 1}"
        codes.append(
            client.post(
                "/api/comments",
                json={"uri": uri, "text": f"comment {n}", "form_token": form_token(uri)},
            ).status_code
        )
    assert codes == [201, 201, 429]
    elsewhere = unique_uri()
    other = app.test_client().post(
        "/api/comments",
        json={"uri": elsewhere, "text": "elsewhere", "form_token": form_token(elsewhere)},
    )
    assert other.status_code == 201


class FakeAkismet(BaseHTTPRequestHandler):
    received: list[dict[str, str]] = []

    def do_POST(self):  # noqa: N802  (the http.server API)
        length = int(self.headers["Content-Length"])
        fields = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
        FakeAkismet.received.append(fields)
        body = b"true" if "viagra" in fields.get("comment_content", "") else b"false"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def akismet(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeAkismet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeAkismet.received = []
    settings.update(
        AKISMET_KEY="k3y",
        AKISMET_TIMEOUT=2,
        AKISMET_ENDPOINT=f"http://127.0.0.1:{server.server_port}/1.1/comment-check",
    )
    yield FakeAkismet.received
    server.shutdown()
    server.server_close()
    thread.join()


def test_akismet_compatible_check_marks_spam(akismet, app, post):
    ham = post(unique_uri(), "A thoughtful reply", author="Ann", email="ann@example.com")
    spam = post(unique_uri(), "cheap viagra here")
    assert ham.get_json()["status"] == "approved"
    assert spam.get_json()["status"] == "pending"
    assert _stored(app, spam.get_json()["id"]) == (Status.spam, "bot signal: spam check service")
    first = akismet[0]
    assert first["api_key"] == "k3y" and first["comment_content"] == "A thoughtful reply"
    assert first["user_ip"] == "127.0.0.1" and first["comment_author_email"] == "ann@example.com"
    assert first["blog"] == "http://comments.test"


def test_unreachable_spam_check_lets_comments_through(settings, request, database_url, caplog):
    settings.update(
        AKISMET_KEY="k3y",
        AKISMET_TIMEOUT=1,
        AKISMET_ENDPOINT="http://127.0.0.1:9/1.1/comment-check",
    )
    post = request.getfixturevalue("post")
    assert post(unique_uri(), "hello there").get_json()["status"] == "approved"
    assert "spam check unavailable" in caplog.text
    assert "k3y" not in caplog.text


def _normalised_by_definition(text: str) -> str:
    import unicodedata

    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join(
        " " if unicodedata.category(ch)[0] in "PCZ" else ch
        for ch in folded
        if unicodedata.category(ch) != "Cf"
    )
    return " ".join(kept.split()) or " ".join(folded.split())


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec=None), max_size=60))
@example("Great\u200b post\u00ad!\u2028 \ufeffGREAT\tpost")
@example("\ud800 lone\x00 \u0301")
def test_normalised_text_folds_every_character_by_its_category(text):
    # The folding table is filled as characters are met: what it gives must not depend on
    # which characters came before.
    from commentsvc.antispam import normalised_text

    assert normalised_text(text) == _normalised_by_definition(text)
