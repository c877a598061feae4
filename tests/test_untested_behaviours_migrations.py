"""Migrations keep what is stored: every kind of row survives an upgrade from the previous
release, and a downgrade to it and back; and PostgreSQL downgrades to nothing and back.

test_migrations.py proves a thread and its comments survive the upgrade; here the rows that hang
off comments and moderators (subscriptions, mail, audit, sessions) are there too, since a
SQLite table rebuilt in batch mode with foreign keys on takes its children with it.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from commentsvc import create_app
from commentsvc.extensions import db, init_migrations
from tests.support.databases import fresh_postgres, postgres_base

from .conftest import SECRET
from .test_migrations import PREVIOUS_RELEASE, _schema_drift

WHEN = "2008-01-19 10:00:00"
# Rows written the way the previous release wrote them, one or more in every table it had.
PREVIOUS_RELEASE_ROWS = [
    (
        "INSERT INTO threads (id, site, uri, title, closed, created, version) VALUES "
        "(1, 'default', '/2008/01/persistence.html', 'Persistence', :no, :when, 3)",
        {},
    ),
    *[
        (
            "INSERT INTO comments (id, thread_id, parent_id, author, email, text, html, status, "
            "created, score, notify, remote_addr, remote_hash, avatar, text_hash) VALUES "
            "(:id, 1, :parent, 'Sam', 'sam@example.com', :text, :html, :status, :when, 0, :yes, "
            "'192.0.2.0', 'abcd', 'av', 'th')",
            {
                "id": ident,
                "parent": parent,
                "text": text,
                "html": f"<p>{text}</p>",
                "status": status,
            },
        )
        for ident, parent, text, status in [
            (1, None, "First", "approved"),
            (2, 1, "A reply", "approved"),
            (3, None, "Held", "pending"),
        ]
    ],
    (
        "INSERT INTO moderators (id, name, email, password_hash, role, active, created, "
        "display_name) VALUES (1, 'mo', 'mo@example.com', 'hash', 'admin', :yes, :when, 'Mo')",
        {},
    ),
    (
        "INSERT INTO admin_sessions (id, moderator_id, created, last_seen) VALUES "
        "('s1', 1, :when, :when)",
        {},
    ),
    (
        "INSERT INTO audit_log (id, moderator_id, actor, action, target, created) VALUES "
        "(1, 1, 'mo', 'approve', 'comment 1', :when)",
        {},
    ),
    (
        "INSERT INTO subscriptions (id, comment_id, email, confirmed, created, confirm_mailed) "
        "VALUES (1, 1, 'sam@example.com', :when, :when, :when)",
        {},
    ),
    (
        "INSERT INTO outbox (id, recipient, subject, text_body, status, attempts, next_attempt, "
        "created, comment_id) VALUES (1, 'mo@example.com', 'Held', 'Held: Held', 'queued', 0, "
        ":when, :when, 3)",
        {},
    ),
    (
        "INSERT INTO bans (id, kind, value, action, created) VALUES "
        "(1, 'email', 'troll@example.com', 'refuse', :when)",
        {},
    ),
    (
        "INSERT INTO blocked_words (id, word, action, created) VALUES (1, 'casino', 'spam', :when)",
        {},
    ),
    ("INSERT INTO used_tokens (id, used) VALUES ('t1', :when)", {}),
    ("INSERT INTO mail_limits (key, window_start, sent, held) VALUES ('k', :when, 1, 0)", {}),
]
KEPT = {  # table: what identifies its rows, and where a row hangs off another
    "threads": "id, uri",
    "comments": "id, parent_id, text, status",
    "moderators": "id, name",
    "admin_sessions": "id, moderator_id",
    "audit_log": "id, moderator_id",
    "subscriptions": "id, comment_id",
    "outbox": "id, comment_id",
    "bans": "id, value",
    "blocked_words": "id, word",
    "used_tokens": "id",
    "mail_limits": "key",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    """An empty database of its own, of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    base = postgres_base()
    with fresh_postgres(base, prefix="commentsvc_migrate") as url:
        yield url


@contextmanager
def migrating(url: str):
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET})
    init_migrations(app)
    try:
        with app.app_context():
            yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def rows(app) -> dict[str, list[tuple]]:
    with db.engine.connect() as conn:
        return {
            table: [
                tuple(r)
                for r in conn.execute(
                    sa.text(f"SELECT {columns} FROM {table} ORDER BY {columns.split(',')[0]}")
                )
            ]
            for table, columns in KEPT.items()
        }


def previous_release_with_data(app) -> dict[str, list[tuple]]:
    upgrade(revision=PREVIOUS_RELEASE)
    with db.engine.begin() as conn:
        for statement, values in PREVIOUS_RELEASE_ROWS:
            conn.execute(sa.text(statement), {"no": False, "yes": True, "when": WHEN, **values})
    before = rows(app)
    assert all(before.values()), before  # every table holds something to lose
    return before


def approved_count(app) -> int:
    with db.engine.connect() as conn:
        return conn.execute(sa.text("SELECT approved_count FROM threads WHERE id = 1")).scalar()


def test_upgrading_the_previous_release_keeps_every_row(empty_database):
    with migrating(empty_database) as app:
        before = previous_release_with_data(app)
        upgrade()
        assert rows(app) == before
        assert approved_count(app) == 2  # counted from the comments that were there


def test_a_downgrade_to_the_previous_release_and_back_keeps_every_row(empty_database):
    """On SQLite, 0008 and 0006 drop columns of comments in batch mode, which rebuilds the
    table; with foreign keys on, dropping the old one would delete its subscriptions and mail
    and unlink every reply (migrations/env.py turns them off for migrations)."""
    with migrating(empty_database) as app:
        before = previous_release_with_data(app)
        upgrade()
        downgrade(revision=PREVIOUS_RELEASE)
        assert rows(app) == before
        upgrade()
        assert rows(app) == before
        assert approved_count(app) == 2


def test_postgresql_downgrades_to_nothing_and_upgrades_again():
    base = postgres_base()
    with fresh_postgres(base, prefix="commentsvc_downgrade") as url, migrating(url) as app:
        upgrade()
        downgrade(revision="base")
        inspector = sa.inspect(db.engine)
        assert inspector.get_table_names() == ["alembic_version"]
        with db.engine.connect() as conn:  # nothing else left behind: no types, no sequences
            leftovers = (
                conn.execute(
                    sa.text(
                        "SELECT c.relname FROM pg_class c "
                        "JOIN pg_namespace n ON n.oid = c.relnamespace "
                        "WHERE n.nspname = 'public' AND c.relkind IN ('S', 'i') "
                        "AND c.relname NOT LIKE 'alembic_version%' "
                        "UNION ALL SELECT t.typname FROM pg_type t JOIN pg_namespace n "
                        "ON n.oid = t.typnamespace WHERE n.nspname = 'public' AND t.typtype = 'e'"
                    )
                )
                .scalars()
                .all()
            )
        assert leftovers == []
        upgrade()
        assert _schema_drift(app) == []
