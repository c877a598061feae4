"""Moderators' logins live on the server: logout, a password change, deactivation end them."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import sqlalchemy as sa

from commentsvc.extensions import db
from commentsvc.models import AdminSession, Role, utcnow
from tests.support.admin import PASSWORD, csrf_token, login, make_moderator

from .settings_helpers import change_settings

NEW_PASSWORD = "a brand new password"


def logged_in(app, name="mo"):
    client = app.test_client()
    assert login(client, name).status_code == 303
    assert client.get("/admin/").status_code == 200
    return client


def cookie(client) -> str:
    return client.get_cookie("session").value


def replay(app, value: str):
    """A client that never logged in, carrying a captured session cookie."""
    client = app.test_client()
    client.set_cookie("session", value)
    return client


def lands_on_login(client) -> bool:
    response = client.get("/admin/")
    return response.status_code == 302 and "/admin/login" in response.headers["Location"]


def rows(app, moderator_id=None) -> list[AdminSession]:
    with app.app_context():
        query = sa.select(AdminSession)
        if moderator_id is not None:
            query = query.where(AdminSession.moderator_id == moderator_id)
        found = db.session.execute(query).scalars().all()
        db.session.expunge_all()
        return found


def shift(app, **columns: timedelta) -> None:
    """Move every stored session's timestamps into the past."""
    with app.app_context():
        for row in db.session.execute(sa.select(AdminSession)).scalars():
            for column, delta in columns.items():
                setattr(row, column, getattr(row, column) - delta)
        db.session.commit()


def change_password(client):
    return client.post(
        "/admin/password",
        data={
            "csrf_token": csrf_token(client, "/admin/password"),
            "current": PASSWORD,
            "new": NEW_PASSWORD,
            "repeat": NEW_PASSWORD,
        },
    )


def test_login_stores_only_a_digest_of_the_cookies_token(app):
    moderator_id = make_moderator(app)
    client = logged_in(app)
    with client.session_transaction() as session:
        token = session["admin_session"]
    [row] = rows(app, moderator_id)
    assert row.id == hashlib.sha256(token.encode()).hexdigest()
    assert token not in row.id and len(token) >= 32


def test_a_cookie_captured_before_logout_is_refused(app):
    make_moderator(app)
    client = logged_in(app)
    captured = cookie(client)
    assert (
        client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/")}).status_code
        == 303
    )
    assert lands_on_login(client)
    assert lands_on_login(replay(app, captured))
    assert rows(app) == []


def test_password_change_ends_the_other_sessions_and_keeps_this_one(app):
    moderator_id = make_moderator(app)
    changing, other = logged_in(app), logged_in(app)
    before_change = cookie(changing)
    assert change_password(changing).status_code == 303
    assert changing.get("/admin/").status_code == 200
    assert changing.get("/admin/threads").status_code == 200
    assert lands_on_login(other)
    assert lands_on_login(replay(app, before_change))  # the session was issued anew
    assert len(rows(app, moderator_id)) == 1


def test_deactivation_ends_every_session_for_good(app):
    moderator_id = make_moderator(app)
    make_moderator(app, "boss", role=Role.admin)
    sessions = [logged_in(app), logged_in(app)]
    captured = [cookie(s) for s in sessions]
    admin = logged_in(app, "boss")
    token = csrf_token(admin, "/admin/moderators")
    assert (
        admin.post(
            f"/admin/moderators/{moderator_id}/deactivate", data={"csrf_token": token}
        ).status_code
        == 303
    )
    assert rows(app, moderator_id) == []
    assert (
        admin.post(
            f"/admin/moderators/{moderator_id}/activate", data={"csrf_token": token}
        ).status_code
        == 303
    )
    for client in sessions:
        assert lands_on_login(client)
    for value in captured:
        assert lands_on_login(replay(app, value))
    assert admin.get("/admin/").status_code == 200


def test_an_idle_session_expires(app):
    change_settings(app, ADMIN_IDLE_MINUTES=30)
    make_moderator(app)
    client = logged_in(app)
    shift(app, last_seen=timedelta(minutes=29))
    assert client.get("/admin/").status_code == 200  # and that counts as being seen
    shift(app, last_seen=timedelta(minutes=29))
    assert client.get("/admin/").status_code == 200
    shift(app, last_seen=timedelta(minutes=31))
    assert lands_on_login(client)


def test_a_session_ends_after_its_lifetime_however_busy(app):
    change_settings(app, ADMIN_SESSION_DAYS=2)
    make_moderator(app)
    client = logged_in(app)
    shift(app, created=timedelta(days=1, hours=23))
    assert client.get("/admin/").status_code == 200
    shift(app, created=timedelta(hours=2))
    assert lands_on_login(client)


def test_last_seen_is_written_at_most_once_a_minute(app):
    make_moderator(app)
    client = logged_in(app)
    shift(app, last_seen=timedelta(seconds=30))
    [before] = rows(app)
    assert client.get("/admin/").status_code == 200
    [after] = rows(app)
    assert after.last_seen == before.last_seen
    shift(app, last_seen=timedelta(minutes=2))
    assert client.get("/admin/").status_code == 200
    [seen] = rows(app)
    assert utcnow() - seen.last_seen < timedelta(seconds=30)


def test_expired_sessions_are_pruned_at_the_next_login(app):
    change_settings(app, ADMIN_IDLE_MINUTES=60, ADMIN_SESSION_DAYS=7)
    old = make_moderator(app, "old")
    stale = make_moderator(app, "stale")
    current = make_moderator(app)
    logged_in(app, "old")
    logged_in(app, "stale")
    with app.app_context():
        db.session.execute(
            sa.update(AdminSession)
            .where(AdminSession.moderator_id == old)
            .values(created=utcnow() - timedelta(days=8))
        )
        db.session.execute(
            sa.update(AdminSession)
            .where(AdminSession.moderator_id == stale)
            .values(last_seen=utcnow() - timedelta(minutes=61))
        )
        db.session.commit()
    logged_in(app)
    assert [row.moderator_id for row in rows(app)] == [current]


def test_a_session_cookie_without_a_server_session_is_refused(app):
    """A cookie signed by the key with only a user id (as issued before) opens nothing."""
    make_moderator(app)
    client = logged_in(app)
    with client.session_transaction() as session:
        session.pop("admin_session", None)
        assert session["_user_id"]
    assert lands_on_login(client)


@pytest.mark.parametrize("token", ["", "x" * 43, "not even close", 12])
def test_a_forged_session_token_is_refused(app, token):
    make_moderator(app)
    client = logged_in(app)
    with client.session_transaction() as session:
        session["admin_session"] = token
    assert lands_on_login(client)


def test_another_moderators_token_does_not_open_this_account(app):
    make_moderator(app)
    boss = make_moderator(app, "boss", role=Role.admin)
    client = logged_in(app)
    with client.session_transaction() as session:
        session["_user_id"] = str(boss)  # mo's token, boss's id
    assert lands_on_login(client)
