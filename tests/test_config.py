"""Settings: environment, defaults, and the secret key kept in the instance folder."""

from __future__ import annotations

import stat

import pytest

from commentsvc import config


def test_defaults_work_on_one_machine(tmp_path):
    settings = config.load(str(tmp_path), environ={})
    assert settings["DATABASE_URL"] == f"sqlite:///{tmp_path / 'commentsvc.sqlite3'}"
    assert settings["MODERATION"] == "first-time"
    assert settings["EDIT_WINDOW"] == 900
    assert settings["RATELIMIT_ENABLED"] is True
    assert settings["ALLOWED_ORIGINS"] == []


def test_secret_key_is_generated_once_and_kept_private(tmp_path):
    first = config.load(str(tmp_path), environ={})["SECRET_KEY"]
    second = config.load(str(tmp_path), environ={})["SECRET_KEY"]
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
    assert settings["ALLOWED_ORIGINS"] == ["https://blog.example", "https://www.blog.example"]
    assert settings["MODERATION"] == "all"
    assert settings["EDIT_WINDOW"] == 60
    assert settings["RATELIMIT_ENABLED"] is False
    assert settings["SECRET_KEY"] == "s3cret"
    assert settings["PUBLIC_URL"] == "https://comments.example"
    assert not (tmp_path / "secret_key").exists()


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
