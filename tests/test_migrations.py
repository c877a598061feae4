"""The migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from commentsvc import create_app
from commentsvc.extensions import db, init_migrations

from .conftest import SECRET


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


@pytest.mark.parametrize("index, columns", [
    ("ix_comments_thread_status_created", ["thread_id", "status", "created"]),
])
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
        pragmas = {name: db.session.execute(sa.text(f"PRAGMA {name}")).scalar()
                   for name in ("journal_mode", "foreign_keys", "busy_timeout")}
        db.session.remove()
        db.engine.dispose()
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 10000}
