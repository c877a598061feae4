"""Fixtures shared by the suite: one app per test, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import secrets
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url

from commentsvc import create_app, sites
from commentsvc.config import SETTINGS, settings_of
from commentsvc.extensions import db, init_migrations
from commentsvc.models import Comment, Site, Thread
from commentsvc.tokens import issue_form_token
from commentsvc.transactions import read_with_retry

ON_CI = os.environ.get("CI") == "true"
SETTING_KEYS = {setting.key for setting in SETTINGS}
REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SECRET = "test-secret-key-" + "x" * 32


def need(condition: bool, reason: str) -> None:
    """Skip when a required part is missing on this machine; under CI that is a failure."""
    if condition:
        return
    if ON_CI:
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


def corpus(*parts: str) -> Path:
    path = SHARED.joinpath("corpora", *parts)
    need(path.exists(), f"test corpus {path} is absent")
    return path


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "backends(*names): run this database test only on these backends"
    )


def pytest_collection_modifyitems(config, items):
    """Honour @pytest.mark.backends: drop the other backends' variants at collection."""
    kept, dropped = [], []
    for item in items:
        marker = item.get_closest_marker("backends")
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("database_url") if callspec else None
        (dropped if marker and backend and backend not in marker.args else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    skipped = terminalreporter.stats.get("skipped", [])
    if ON_CI and skipped:
        terminalreporter.write_line(f"CI: {len(skipped)} test(s) skipped; every test is required")


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if ON_CI and reporter and reporter.stats.get("skipped") and exitstatus == 0:
        session.exitstatus = 1


# --- databases -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh PostgreSQL database for this run, dropped at the end."""
    base = os.environ.get("COMMENTSVC_TEST_DATABASE_URL")
    need(bool(base), "COMMENTSVC_TEST_DATABASE_URL is not set (PostgreSQL tests)")
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        need(False, f"PostgreSQL is not reachable at {make_url(base).host}: {exc.orig}")
    name = f"commentsvc_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield make_url(base).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _migrated(url: str) -> str:
    from flask_migrate import upgrade

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET})
    init_migrations(app)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory):
    """A migrated database URL, once per backend."""
    instance = tmp_path_factory.mktemp("instance")
    if request.param == "sqlite":
        return _migrated(f"sqlite:///{instance / 'test.sqlite3'}")
    return _migrated(request.getfixturevalue("postgres_url"))


@pytest.fixture
def settings():
    """Config overrides for the app under test; tests change it before asking for `app`."""
    return {
        "SECRET_KEY": SECRET,
        "MIN_SUBMIT_SECONDS": 0,
        "RATELIMIT_ENABLED": False,
        "MODERATION": "none",
        "PUBLIC_URL": "http://comments.test",
        "ALLOWED_ORIGINS": ["http://blog.test"],
        "MAIL_BACKGROUND": False,  # tests drain the outbox themselves
    }


@pytest.fixture
def app(database_url, settings):
    app = create_app({**settings, "DATABASE_URL": database_url})
    app.config["TESTING"] = True
    flask_keys = set(app.config)
    yield app
    # The app reads its settings from its Settings object: one written into app.config by a
    # test would change nothing, and the test would prove nothing (use change_settings).
    stray = {key for key in set(app.config) - flask_keys if key in SETTING_KEYS}
    assert not stray, f"settings written into app.config, where the app never reads them: {stray}"
    with app.app_context():
        db.session.remove()
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.add(Site(name="default"))  # as the migration leaves it
        db.session.commit()
        db.engine.dispose()
    sites.forget_cached()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def count_queries(app, monkeypatch):
    """A list that collects every SQL statement the app runs while the test goes on. The
    default site's settings (read once per process every few seconds) are read before and kept,
    so that a slow run counts the same statements as a fast one."""
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    monkeypatch.setattr(sites, "CACHE_SECONDS", 3600.0)
    with app.app_context():
        engine = db.engine
        sites.forget_cached()
        sites.cached_settings(settings_of(app), sites.DEFAULT_SITE, read_with_retry)
    event.listen(engine, "before_cursor_execute", record)
    yield statements
    event.remove(engine, "before_cursor_execute", record)


# --- builders --------------------------------------------------------------------------------


def unique_uri() -> str:
    return f"/posts/{secrets.token_hex(6)}.html"


@pytest.fixture
def form_token(app):
    """A fresh form token for one post to the thread `uri` (each works once)."""
    return lambda uri: issue_form_token(app.config["SECRET_KEY"], "default", uri)


@pytest.fixture
def post(client, form_token):
    """Post a comment through the API: post(uri, text, **fields) -> the response."""

    def _post(uri: str, text: str | None = None, **fields):
        text = f"Hello {secrets.token_hex(3)}" if text is None else text  # not a duplicate
        body = {"uri": uri, "text": text, "form_token": form_token(uri), **fields}
        return client.post("/api/comments", json=body)

    return _post


@pytest.fixture
def make_comment(post):
    """Post a comment that must succeed; returns its JSON."""

    def _make(uri: str, text: str | None = None, **fields):
        response = post(uri, text, **fields)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return _make


@pytest.fixture
def stored(app):
    """A snapshot of every stored comment and thread, to prove a refusal changed nothing."""

    def _snapshot():
        with app.app_context():
            comments = db.session.execute(
                sa.select(Comment.id, Comment.text, Comment.status, Comment.edited)
            ).all()
            threads = db.session.execute(sa.select(Thread.id, Thread.uri, Thread.closed)).all()
            db.session.remove()
        return sorted(comments), sorted(threads)

    return _snapshot
