"""The hot reads that skip SQLAlchemy's execution machinery give exactly what a Connection
gives: the same rows, the same Python types, the same exceptions; and on PostgreSQL the
connection goes back to the pool as it came, out of autocommit."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from commentsvc.extensions import db
from commentsvc.models import Comment, Thread
from commentsvc.threads import _COUNTS, _COUNTS_ARRAY, _THREAD
from commentsvc.transactions import PlainReads, plain, read_with_retry

MISSING = sa.table("no_such_table", sa.column("id", sa.Integer))
_FROM_MISSING = plain(sa.select(MISSING.c.id).where(MISSING.c.id == sa.bindparam("id")))


@pytest.fixture
def threads(app):
    with app.app_context():
        db.session.add_all(
            [
                Thread(uri="/closed/", title=None, closed=True, approved_count=7),
                Thread(uri="/open/", title="Persistence pays off", closed=False),
            ]
        )
        db.session.commit()
    return app


def _both(app, read):
    """What `read` gives through read_with_retry, and through a plain Connection."""
    with app.app_context():
        ours = read_with_retry(read)
        with db.engine.connect() as conn:
            theirs = read(conn)
    return ours, theirs


def _typed(rows):
    return [tuple((type(value), value) for value in row) for row in rows]


def test_a_threads_row_reads_the_same_and_keeps_its_types(threads):
    def read(conn):
        return [
            conn.execute(_THREAD, {"site": "default", "uri": uri}).first()
            for uri in ("/closed/", "/open/")
        ] + [conn.execute(_THREAD, {"site": "default", "uri": "/none/"}).first()]

    ours, theirs = _both(threads, read)
    assert ours[-1] is None and theirs[-1] is None
    assert _typed(ours[:-1]) == _typed(theirs[:-1])
    assert ours[0].closed is True and ours[1].closed is False
    assert (ours[0].title, ours[0].approved_count) == (None, 7)


@pytest.mark.parametrize("uris", [["/open/"], ["/open/", "/closed/", "/none/"], ["/none/"] * 1])
def test_counts_read_the_same_for_any_number_of_uris(threads, uris):
    def read(conn):
        return sorted(conn.execute(_COUNTS, {"site": "default", "uris": uris}))

    ours, theirs = _both(threads, read)
    assert _typed(ours) == _typed(theirs)


def test_other_statements_after_a_plain_one_share_its_connection(threads):
    def read(conn):
        thread = conn.execute(_THREAD, {"site": "default", "uri": "/closed/"}).first()
        comments = conn.execute(sa.select(sa.func.count()).select_from(Comment)).scalar()
        again = conn.execute(_THREAD, {"site": "default", "uri": "/closed/"}).first()
        return thread.id, comments, again.id

    ours, theirs = _both(threads, read)
    assert ours == theirs
    with threads.app_context():
        assert db.engine.pool.checkedout() == 0  # every connection went back to the pool


@pytest.mark.backends("postgresql")
@pytest.mark.parametrize("uris", [["/open/"], ["/open/", "/closed/", "/none/"], []])
def test_counts_as_one_array_read_the_same(threads, uris):
    def read(conn):
        return sorted(conn.execute(_COUNTS_ARRAY, {"site": "default", "uris": uris}))

    ours, theirs = _both(threads, read)
    assert _typed(ours) == _typed(theirs)
    assert len(ours) == len(set(uris) - {"/none/"})


def test_the_hot_reads_are_plain(threads):
    with threads.app_context():
        assert read_with_retry(lambda conn: type(conn)) is PlainReads


def _pooled_connection_keeps_transactions(app):
    """Whether the pool's connection still rolls back what it wrote (is not in autocommit)."""
    with app.app_context():
        with db.engine.connect() as conn:
            conn.execute(sa.insert(Thread).values(site="default", uri="/rolled-back/"))
            conn.rollback()
        with db.engine.connect() as conn:
            return conn.execute(sa.select(Thread.id).where(Thread.uri == "/rolled-back/")).first()


def test_a_plain_read_leaves_the_connection_out_of_autocommit(threads):
    with threads.app_context():
        read_with_retry(lambda conn: conn.execute(_THREAD, {"site": "default", "uri": "/o/"}))
        # A statement that is not plain runs on a Connection over the same driver connection.
        read_with_retry(lambda conn: conn.execute(sa.select(sa.func.count(Comment.id))).scalar())
        assert db.engine.pool.checkedout() == 0
    assert _pooled_connection_keeps_transactions(threads) is None


def test_a_listener_on_the_engine_sees_every_statement(threads):
    seen = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    with threads.app_context():
        engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            kind = read_with_retry(lambda conn: type(conn))
            read_with_retry(lambda conn: conn.execute(_THREAD, {"site": "default", "uri": "/x/"}))
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)
    assert kind is not PlainReads
    assert len(seen) == 1 and "FROM threads" in seen[0]


def test_a_database_error_is_sqlalchemys_and_the_connection_goes_back(threads):
    with threads.app_context():
        with pytest.raises(DBAPIError):  # OperationalError on SQLite, as through a Connection
            read_with_retry(lambda conn: conn.execute(_FROM_MISSING, {"id": 1}).first())
        assert db.engine.pool.checkedout() == 0
    assert _pooled_connection_keeps_transactions(threads) is None
