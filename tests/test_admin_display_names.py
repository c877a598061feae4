"""Moderators' display names: set by an admin, by the moderator, or on the command line."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from commentsvc.accounts import clean_display_name
from commentsvc.extensions import db
from commentsvc.models import Moderator, Role
from tests.support.admin import PASSWORD, csrf_token, make_moderator, signed_in

from .conftest import unique_uri


def display_name(app, name: str) -> str | None:
    with app.app_context():
        return db.session.execute(
            sa.select(Moderator.display_name).where(Moderator.name == name)
        ).scalar_one()


@pytest.fixture
def admin(app):
    """An administrator's own client (beside `client`, a reader's)."""
    return signed_in(app, "boss", Role.admin)


@pytest.fixture
def moderator(app):
    """A moderator's own client (beside `client`, a reader's)."""
    return signed_in(app, "mo")


def rename(client, value: str):
    return client.post(
        "/admin/display-name",
        data={"csrf_token": csrf_token(client, "/admin/password"), "display_name": value},
    )


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("Ann Editor", "Ann Editor"),
        ("  Ann   Editor  ", "Ann Editor"),
        ("Ann\u202e rotidE", "Ann rotidE"),  # right-to-left override
        ("\u2066Ann\u2069 \u200fEditor\u200e", "Ann Editor"),  # isolates, marks
        ("A\u200bn\u200cn\u200d\u2060\ufeff", "Ann"),  # zero-width characters
        ("Ann\u00adEditor", "AnnEditor"),  # soft hyphen
        ("Ann\u3164\u115f\u1160\uffa0", "Ann"),  # Hangul fillers
        ("Ann\u2028Editor\u2029", "Ann Editor"),
        ("Ann\tEditor\n\r\x00\x7f\x9b", "Ann Editor"),
        ("\u00a0Ann\u2003Editor\u3000", "Ann Editor"),
        ("Cafe\u0301", "Caf\u00e9"),  # composed (NFC)
        ("Zoë Ōkubo 日本 مريم", "Zoë Ōkubo 日本 مريم"),
        ("\u202e\u200b \u2066", None),
        ("", None),
        (None, None),
    ],
)
def test_invisible_and_bidirectional_characters_are_dropped(given, kept):
    assert clean_display_name(given) == kept


def test_admin_gives_a_new_moderator_a_display_name(app, admin):
    token = csrf_token(admin, "/admin/moderators")
    response = admin.post(
        "/admin/moderators",
        data={
            "csrf_token": token,
            "name": "ann",
            "email": "ann@example.com",
            "role": "moderator",
            "sites": "default",
            "password": "a long password",
            "active": "y",
            "display_name": "Ann \u202eof the desk\u200b",
        },
    )
    assert response.status_code == 303
    assert display_name(app, "ann") == "Ann of the desk"
    assert "Ann of the desk" in admin.get("/admin/moderators").get_data(as_text=True)


def test_display_name_is_optional_when_adding_a_moderator(app, admin):
    token = csrf_token(admin, "/admin/moderators")
    response = admin.post(
        "/admin/moderators",
        data={
            "csrf_token": token,
            "name": "ann",
            "email": "ann@example.com",
            "role": "moderator",
            "sites": "default",
            "password": "a long password",
            "active": "y",
        },
    )
    assert response.status_code == 303
    assert display_name(app, "ann") is None


def test_too_long_a_display_name_is_refused_on_the_page(app, admin):
    token = csrf_token(admin, "/admin/moderators")
    response = admin.post(
        "/admin/moderators",
        data={
            "csrf_token": token,
            "name": "ann",
            "email": "ann@example.com",
            "role": "moderator",
            "sites": "default",
            "password": "a long password",
            "display_name": "A" * 81,
        },
    )
    assert response.status_code == 400
    assert "at most 80" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Moderator.id))) == 1


def test_moderator_changes_their_own_display_name(app, moderator):
    page = moderator.get("/admin/password").get_data(as_text=True)
    assert 'name="display_name"' in page
    response = rename(moderator, "Mo \u2067the Moderator\u2069")
    assert response.status_code == 303
    assert display_name(app, "mo") == "Mo the Moderator"
    assert 'value="Mo the Moderator"' in moderator.get("/admin/password").get_data(as_text=True)
    assert rename(moderator, "   ").status_code == 303
    assert display_name(app, "mo") is None


def test_display_name_change_is_refused_without_csrf_token(app, moderator):
    app.config["WTF_CSRF_ENABLED"] = True
    response = moderator.post("/admin/display-name", data={"display_name": "Sneaky"})
    assert response.status_code == 400
    assert display_name(app, "mo") is None


@pytest.mark.parametrize("taken", ["boss", "BOSS", "Big \u200bBoss", "big boss"])
def test_another_moderators_name_cannot_be_taken(app, moderator, taken):
    make_moderator(app, "boss", role=Role.admin)
    with app.app_context():
        db.session.execute(
            sa.update(Moderator).where(Moderator.name == "boss").values(display_name="Big Boss")
        )
        db.session.commit()
    response = rename(moderator, taken)
    assert response.status_code == 400
    assert "another moderator" in response.get_data(as_text=True)
    assert display_name(app, "mo") is None


def test_ones_own_login_name_may_be_the_display_name(app, moderator):
    assert rename(moderator, "MO").status_code == 303
    assert display_name(app, "mo") == "MO"


def test_too_long_a_display_name_is_refused_on_the_account_page(app, moderator):
    response = rename(moderator, "x" * 81)
    assert response.status_code == 400
    assert "at most 80" in response.get_data(as_text=True)


def test_a_moderators_reply_shows_the_display_name(app, moderator, make_comment, client):
    uri = unique_uri()
    comment = make_comment(uri, "A question")
    assert rename(moderator, "Mo of the Blog").status_code == 303
    token = csrf_token(moderator, f"/admin/comments/{comment['id']}/reply")
    assert (
        moderator.post(
            f"/admin/comments/{comment['id']}/reply",
            data={"csrf_token": token, "text": "An answer"},
        ).status_code
        == 303
    )
    thread = client.get("/api/threads", query_string={"uri": uri}).get_json()
    [reply] = thread["comments"][0]["replies"]
    assert reply["author"] == "Mo of the Blog"


def test_create_moderator_command_takes_a_display_name(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "create-moderator",
            "ann",
            "--email",
            "ann@example.com",
            "--display-name",
            "Ann \u202eEditor\u200b",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert display_name(app, "ann") == "Ann Editor"
    plain = runner.invoke(
        args=["create-moderator", "bo", "--email", "bo@example.com", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert plain.exit_code == 0, plain.output
    assert display_name(app, "bo") is None


def test_create_moderator_command_refuses_a_too_long_display_name(app):
    result = app.test_cli_runner().invoke(
        args=[
            "create-moderator",
            "ann",
            "--email",
            "ann@example.com",
            "--display-name",
            "A" * 81,
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 2
    assert "80" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Moderator.id))) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "ann\x00"),
        ("name", "ann\u202e"),
        ("name", "ann\u200b"),
        ("name", "  "),
        ("email", "ann\x00@example.com"),
        ("display_name", "A" * 81),
    ],
)
def test_a_new_account_with_a_bad_field_is_a_page_with_a_message(app, admin, field, value):
    data = {
        "name": "ann",
        "email": "ann@example.com",
        "role": "moderator",
        "sites": "default",
        "password": "a long password",
        field: value,
    }
    response = admin.post(
        "/admin/moderators", data={**data, "csrf_token": csrf_token(admin, "/admin/moderators")}
    )
    assert response.status_code == 400
    assert 'class="error"' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Moderator.id))) == 1
