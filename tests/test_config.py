"""Settings: environment, defaults, and the secret key kept in the instance folder."""

from __future__ import annotations

import dataclasses
import stat
import types
import typing

import pytest

from commentsvc import config


def test_defaults_work_on_one_machine(tmp_path):
    settings = config.load(str(tmp_path), environ={})
    assert settings.database_url == f"sqlite:///{tmp_path / 'commentsvc.sqlite3'}"
    assert settings.moderation == "first-time"
    assert settings.edit_window == 900
    assert settings.ratelimit_enabled is True
    assert settings.allowed_origins == ()


def test_secret_key_is_generated_once_and_kept_private(tmp_path):
    first = config.load(str(tmp_path), environ={}).secret_key
    second = config.load(str(tmp_path), environ={}).secret_key
    assert first == second and len(first) >= 40
    mode = (tmp_path / "secret_key").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_environment_overrides_defaults(tmp_path):
    settings = config.load(
        str(tmp_path),
        environ={
            "COMMENTSVC_ALLOWED_ORIGINS": "https://blog.example/, https://www.blog.example",
            "COMMENTSVC_MODERATION": "ALL",
            "COMMENTSVC_EDIT_WINDOW": "60",
            "COMMENTSVC_RATELIMIT_ENABLED": "false",
            "COMMENTSVC_SECRET_KEY": "s3cret",
            "COMMENTSVC_PUBLIC_URL": "https://comments.example/",
        },
    )
    assert settings.allowed_origins == ("https://blog.example", "https://www.blog.example")
    assert settings.moderation == "all"
    assert settings.edit_window == 60
    assert settings.ratelimit_enabled is False
    assert settings.secret_key == "s3cret"
    assert settings.public_url == "https://comments.example"
    assert not (tmp_path / "secret_key").exists()


def test_settings_have_one_attribute_per_row_of_the_table():
    fields = [field.name for field in dataclasses.fields(config.Settings)]
    assert fields == [setting.attr for setting in config.SETTINGS] + ["site", "site_title"]


def test_every_default_has_its_attributes_type(tmp_path):
    hints = typing.get_type_hints(config.Settings)
    settings = config.load(str(tmp_path), environ={})
    for setting in config.SETTINGS:
        value = getattr(settings, setting.attr)
        kind = hints[setting.attr]
        allowed = typing.get_args(kind) if typing.get_origin(kind) is types.UnionType else (kind,)
        assert isinstance(value, tuple(typing.get_origin(t) or t for t in allowed)), setting.key


def test_settings_cannot_be_changed_in_place(tmp_path):
    settings = config.load(str(tmp_path), environ={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.moderation = "none"  # type: ignore[misc]
    assert isinstance(settings.allowed_origins, tuple)


def test_overrides_by_table_key_win_and_lists_become_tuples(tmp_path):
    settings = config.load(
        str(tmp_path),
        {"MODERATION": "all", "MODERATOR_EMAILS": ["a@example.com"], "TESTING": True},
        environ={"COMMENTSVC_MODERATION": "none"},
    )
    assert settings.moderation == "all"
    assert settings.moderator_emails == ("a@example.com",)


def test_a_sites_settings_are_its_own_over_the_installs(tmp_path):
    install = config.load(str(tmp_path), environ={})
    shop = install.for_site("shop", {"moderation": "all", "site_title": "The shop"})
    assert (shop.site, shop.site_title, shop.moderation) == ("shop", "The shop", "all")
    assert shop.edit_window == install.edit_window
    assert (install.site, install.moderation) == (None, "first-time")


def test_unknown_moderation_policy_is_refused(tmp_path):
    with pytest.raises(ValueError, match="all, first-time, none"):
        config.load(str(tmp_path), environ={"COMMENTSVC_MODERATION": "sometimes"})


def test_health_reports_the_database(client):
    body = client.get("/healthz").get_json()
    assert (body["status"], body["database"]) == ("ok", "ok")


def test_health_is_503_when_the_database_is_gone(tmp_path):
    from commentsvc import create_app

    app = create_app(
        {"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none", "SECRET_KEY": "x"}
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"
    assert "nobody" not in response.get_data(as_text=True)


def test_readme_documents_every_setting():
    from .conftest import REPO

    readme = (REPO / "README.md").read_text()
    missing = [s.env for s in config.SETTINGS if f"`{s.env}`" not in readme]
    assert missing == []


def test_health_names_the_release(client):
    from importlib.metadata import version

    assert client.get("/healthz").get_json()["version"] == version("commentsvc")


def test_the_home_page_says_what_this_is_and_where_to_go(client):
    response = client.get("/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "text/html" in response.content_type
    for link in ('href="/demo"', 'href="/admin/"', 'href="/api/openapi.json"'):
        assert link in page
    assert "SECRET" not in page and "sqlite" not in page and "postgresql" not in page
