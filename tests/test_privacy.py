"""Personal data: never public, exportable, erasable, addresses not kept for long."""

from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa

from commentsvc.comments import anonymise_address
from commentsvc.extensions import db
from commentsvc.models import AuditEntry, Comment, utcnow
from commentsvc.privacy import drop_old_addresses

from .conftest import unique_uri


def test_addresses_are_stored_anonymised():
    assert anonymise_address("203.0.113.77") == "203.0.113.0"
    assert anonymise_address("2001:db8:abcd:12:1:2:3:4") == "2001:db8:abcd::"
    assert anonymise_address("not an address") is None
    assert anonymise_address(None) is None


def test_export_writes_a_commenters_data_as_json(app, make_comment):
    uri = unique_uri()
    make_comment(uri, "mine", email="Ann@Example.com", author="Ann", website="https://ann.example")
    make_comment(uri, "someone else's", email="bob@example.com")
    result = app.test_cli_runner().invoke(args=["export", "--email", "ann@example.com"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["email"] == "ann@example.com"
    assert [(c["text"], c["thread"], c["author"], c["address"]) for c in data["comments"]] == [
        ("mine", uri, "Ann", "127.0.0.0")
    ]


def test_erase_removes_personal_data_and_keeps_the_thread_whole(app, client, make_comment):
    uri = unique_uri()
    mine = make_comment(
        uri, "my words", email="ann@example.com", author="Ann", website="https://ann.example"
    )
    reply = make_comment(uri, "a reply", parent_id=mine["id"], email="bob@example.com")
    result = app.test_cli_runner().invoke(args=["erase", "--email", "ANN@example.com", "--yes"])
    assert result.exit_code == 0 and "1 comment(s) erased" in result.output
    with app.app_context():
        erased = db.session.get(Comment, mine["id"])
        assert (
            erased.text,
            erased.html,
            erased.author,
            erased.email,
            erased.website,
            erased.remote_addr,
            erased.remote_hash,
        ) == ("", "", None, None, None, None, None)
        assert db.session.get(Comment, reply["id"]).email == "bob@example.com"
        detail = db.session.scalar(sa.select(AuditEntry.detail).where(AuditEntry.action == "erase"))
        assert "ann" not in detail
    thread = client.get("/api/threads", query_string={"uri": uri}).get_json()
    assert thread["comments"][0]["status"] == "deleted"
    assert thread["comments"][0]["replies"][0]["id"] == reply["id"]
    assert "my words" not in json.dumps(thread)


def test_erase_asks_before_acting(app, make_comment):
    make_comment(unique_uri(), "keep", email="ann@example.com")
    result = app.test_cli_runner().invoke(args=["erase", "--email", "ann@example.com"], input="n\n")
    assert result.exit_code != 0
    with app.app_context():
        assert db.session.scalar(sa.select(Comment.text)) == "keep"


def test_old_addresses_are_dropped_after_the_retention_period(app, make_comment):
    old = make_comment(unique_uri(), "old")
    new = make_comment(unique_uri(), "new")
    with app.app_context():
        db.session.execute(
            sa.update(Comment)
            .where(Comment.id == old["id"])
            .values(created=utcnow() - timedelta(days=31))
        )
        assert drop_old_addresses(db.session, 30) == 1
        db.session.commit()
        addresses = dict(db.session.execute(sa.select(Comment.id, Comment.remote_addr)).all())
    assert addresses == {old["id"]: None, new["id"]: "127.0.0.0"}
    result = app.test_cli_runner().invoke(args=["purge-addresses"])
    assert result.exit_code == 0 and "0 address(es) dropped" in result.output
