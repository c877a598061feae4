"""The migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from commentsvc import create_app
from commentsvc.extensions import db, init_migrations

from .conftest import REPO, SECRET


def _schema_drift(app) -> list:
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_migrated_schema_matches_the_models(app):
    assert _schema_drift(app) == []


def test_migrations_downgrade_and_upgrade_again(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'm.sqlite3'}", "SECRET_KEY": SECRET})
    init_migrations(app)
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        assert sa.inspect(db.engine).get_table_names() == ["alembic_version"]
        upgrade()
        db.engine.dispose()
    assert _schema_drift(app) == []


@pytest.mark.parametrize(
    "index, columns",
    [
        ("ix_comments_thread_status_created", ["thread_id", "status", "created"]),
    ],
)
def test_the_hot_reads_have_their_index(app, index, columns):
    with app.app_context():
        inspector = sa.inspect(db.engine)
        indexes = {i["name"]: i["column_names"] for i in inspector.get_indexes("comments")}
        uniques = [u["column_names"] for u in inspector.get_unique_constraints("threads")]
    assert indexes[index] == columns
    assert ["site", "uri"] in uniques


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'w.sqlite3'}", "SECRET_KEY": SECRET})
    with app.app_context():
        pragmas = {
            name: db.session.execute(sa.text(f"PRAGMA {name}")).scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout")
        }
        db.session.remove()
        db.engine.dispose()
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 10000}


PREVIOUS_RELEASE = "0005"  # the schema the last release left


@pytest.fixture
def previous_release_database(scratch_database):
    """A database the previous release's migrations built, holding a thread and two comments
    written the way that release wrote them."""
    url = scratch_database("commentsvc_previous")
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET})
    init_migrations(app)
    with app.app_context():
        upgrade(revision=PREVIOUS_RELEASE)
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO threads (id, site, uri, title, closed, created, version) VALUES "
                    "(1, 'default', '/2008/01/persistence-pays-off.html', 'Persistence pays off', "
                    ":no, :when, 3)"
                ),
                {"no": False, "when": "2008-01-18 09:14:00"},
            )
            for ident, parent, text in [
                (1, None, "Have you had a difficult sale?"),
                (2, 1, "Yes, *once*."),
            ]:
                conn.execute(
                    sa.text(
                        "INSERT INTO comments (id, thread_id, parent_id, author, text, html, "
                        "status, created, score, notify, avatar) VALUES (:id, 1, :parent, 'Sam', "
                        ":text, :html, 'approved', :when, 0, :no, 'abc')"
                    ),
                    {
                        "id": ident,
                        "parent": parent,
                        "text": text,
                        "html": f"<p>{text}</p>",
                        "when": "2008-01-19 10:00:00",
                        "no": False,
                    },
                )
        db.engine.dispose()
    yield app
    with app.app_context():
        db.engine.dispose()


def test_the_previous_release_upgrades_with_its_data_intact(previous_release_database):
    app = previous_release_database
    with app.app_context():
        upgrade()
        rows = db.session.execute(
            sa.text(
                "SELECT id, parent_id, text, html, status, text_format, origin FROM comments "
                "ORDER BY id"
            )
        ).all()
        db.session.remove()
        db.engine.dispose()
    assert [tuple(r) for r in rows] == [
        (
            1,
            None,
            "Have you had a difficult sale?",
            "<p>Have you had a difficult sale?</p>",
            "approved",
            "markdown",
            None,
        ),
        (2, 1, "Yes, *once*.", "<p>Yes, *once*.</p>", "approved", "markdown", None),
    ]
    app.config["TESTING"] = True
    thread = app.test_client().get("/api/threads?uri=/2008/01/persistence-pays-off.html").get_json()
    assert thread["title"] == "Persistence pays off" and thread["count"] == 2
    assert thread["comments"][0]["replies"][0]["html"] == "<p>Yes, *once*.</p>"
    assert _schema_drift(app) == []


def test_the_changelog_and_the_rollback_guide_name_every_migration_of_the_release():
    versions = REPO / "migrations" / "versions"
    added = sorted(p.name[:4] for p in versions.glob("[0-9]*.py") if p.name[:4] > PREVIOUS_RELEASE)
    unreleased = (REPO / "CHANGELOG.md").read_text().split("\n## ")[1]
    missing = [revision for revision in added if f"`{revision}`" not in unreleased]
    assert missing == [], "the CHANGELOG's migration list lacks these"
    rollback = (REPO / "docs" / "deploy.md").read_text().split("rolling back", 1)[1]
    assert f"adds `{added[0]}` to `{added[-1]}`" in rollback
    assert f"commentsvc db downgrade {PREVIOUS_RELEASE}" in rollback


def test_the_spam_filters_lessons_before_0013_are_fitted_after_the_upgrade(scratch_database):
    """Lessons stored before the regression existed are one change it has not seen: the model
    is stale after the upgrade, scores by its counts meanwhile, and the first refit fits them."""
    app = create_app({"DATABASE_URL": scratch_database("commentsvc_0012"), "SECRET_KEY": SECRET})
    init_migrations(app)
    with app.app_context():
        upgrade(revision="0012")
        with db.engine.begin() as conn:
            for n, label in enumerate(["spam", "ham"] * 12):
                word = "casino" if label == "spam" else "garden"
                conn.execute(
                    sa.text(
                        "INSERT INTO spam_lessons (label, source, features, created) "
                        "VALUES (:label, 'file', :features, :when)"
                    ),
                    {"label": label, "features": f'["w:{word}", "w:n{n}"]', "when": "2026-11-01"},
                )
        upgrade()
        from commentsvc import spamfilter

        assert spamfilter.stale(db.session)
        assert spamfilter.refit(db.session) is not None
        assert not spamfilter.stale(db.session)
        held_back = spamfilter.stats(db.session, 0.75).accuracy
        db.session.remove()
        db.engine.dispose()
    assert held_back is not None and held_back.tested == 24
