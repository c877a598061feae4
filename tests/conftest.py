"""Fixtures shared by the suite: one app per test, on SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from commentsvc import create_app, sites
from commentsvc.config import SETTINGS, settings_of
from commentsvc.extensions import db
from commentsvc.mail import worker
from commentsvc.models import Comment, Role, Site, Thread
from commentsvc.tokens import issue_form_token
from commentsvc.transactions import read_with_retry
from tests.support.admin import signed_in
from tests.support.databases import (
    empty_database_like,
    fresh_postgres,
    postgres_base,
    upgrade_in_process,
)
from tests.support.need import ON_CI, need
from tests.support.routing import reuse_url_builders
from tests.support.smtp import MailServer

SETTING_KEYS = {setting.key for setting in SETTINGS}
REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
SECRET = "test-secret-key-" + "x" * 32
MODERATOR = "mod@example.com"  # the address moderator alerts go to


reuse_url_builders()  # most tests make an app of their own; compiling its URL rules dominated


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


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Under pytest-xdist, a worker takes a whole file at a time (tests of one file share
    module fixtures and Redis databases), and every browser test goes to the same worker (they
    share one Chromium and session-wide servers, which another worker would start again)."""
    from xdist.scheduler import LoadScopeScheduling

    class ByFileBrowserTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "tests/browser" if path.startswith("tests/browser/") else path

    return ByFileBrowserTogether(config, log)


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
    with fresh_postgres(postgres_base()) as url:
        yield url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory):
    """A migrated database URL, once per backend."""
    instance = tmp_path_factory.mktemp("instance")
    if request.param == "sqlite":
        return upgrade_in_process(f"sqlite:///{instance / 'test.sqlite3'}")
    return upgrade_in_process(request.getfixturevalue("postgres_url"))


@pytest.fixture
def scratch_database(database_url, tmp_path):
    """scratch_database(prefix) -> the URL of a new, empty database of database_url's backend
    (a SQLite file, or a PostgreSQL database on its server), dropped after the test."""
    with contextlib.ExitStack() as made:
        yield lambda prefix: made.enter_context(empty_database_like(database_url, tmp_path, prefix))


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


# --- moderators --------------------------------------------------------------------------------


@pytest.fixture
def held(settings):
    """Every new comment waits for a moderator."""
    settings["MODERATION"] = "all"


@pytest.fixture
def moderator(app, client):
    """`client`, logged in as the moderator "mo"."""
    return signed_in(app, "mo", client=client)


@pytest.fixture
def admin(app, client):
    """`client`, logged in as the administrator "boss"."""
    return signed_in(app, "boss", Role.admin, client=client)


# --- mail ------------------------------------------------------------------------------------


@pytest.fixture
def mail_server():
    """A real SMTP server on a free port, not started yet: a test may send to it before."""
    server = MailServer()
    yield server
    server.stop()


@pytest.fixture
def smtp(mail_server):
    """A real SMTP server, listening; `smtp.to(address)` are the mails it was given for one."""
    return mail_server.start()


@pytest.fixture
def mail_overrides():
    """Settings a test changes through `@pytest.mark.parametrize("mail_overrides", [{...}])`."""
    return {}


@pytest.fixture
def mail_settings(settings, mail_server, mail_overrides):
    """Settings that send mail to `mail_server`, MODERATOR alerted, every comment held;
    modules that send mail use it with `pytest.mark.usefixtures("mail_settings")`."""
    # Apps built without TESTING by earlier tests may have started senders on this database.
    worker.stop_background_senders()
    settings.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=mail_server.port,
        SMTP_STARTTLS=False,
        SMTP_TIMEOUT=2,
        MAIL_FROM="Blog comments <comments@blog.test>",
        MODERATOR_EMAILS=[MODERATOR],
        MAIL_BACKGROUND=False,
        MODERATION="all",
    )
    settings.update(mail_overrides)
    return settings


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
