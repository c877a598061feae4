"""Writes as one transaction, retried when they lose a race; reads that survive a dropped
connection."""

from __future__ import annotations

import random
import time
from collections import namedtuple
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.pool import PoolProxiedConnection

from .extensions import db

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import Insert as PostgresInsert
    from sqlalchemy.dialects.sqlite import Insert as SQLiteInsert

T = TypeVar("T")
ATTEMPTS = 5


def upsert_insert(dialect: str) -> Callable[..., PostgresInsert | SQLiteInsert]:
    """The INSERT that takes ON CONFLICT clauses, of the database in use; only that dialect's
    module is loaded (a process on SQLite never needs PostgreSQL's)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        return insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


def _lost_race(exc: Exception) -> bool:
    if isinstance(exc, IntegrityError):
        return True  # e.g. two first comments creating the same thread at once
    if getattr(exc, "connection_invalidated", False):
        return True  # the server dropped the connection; the pool has replaced it
    orig = getattr(exc, "orig", None)
    text = str(orig).lower() if orig else str(exc).lower()
    return any(s in text for s in ("database is locked", "deadlock", "could not serialize"))


def commit_write(work: Callable[[], T]) -> T:
    """Call work() and commit; on a lost race roll back whole and try again, a few times."""
    for attempt in range(ATTEMPTS):
        try:
            result = work()
            db.session.commit()
            return result
        except (IntegrityError, OperationalError) as exc:
            db.session.rollback()
            if attempt == ATTEMPTS - 1 or not _lost_race(exc):
                raise
            time.sleep(0.02 * 2**attempt * (1 + random.random()))  # noqa: S311  (jitter, not crypto)
        except BaseException:
            db.session.rollback()
            raise
    raise AssertionError("unreachable")


# --- plain reads -------------------------------------------------------------------------------
#
# The hottest reads (a thread's row, the counts) are one small SELECT each. Running it through
# a Connection (checkout, execution context, result object) costs several times what SQLite
# takes, and on PostgreSQL about three times the driver's own work for the round trip; these
# statements run on the driver's cursor instead, compiled once, with the same parameter and
# result processing (the same types come back) and the same exceptions.

_PLAIN: dict[int, Any] = {}
S = TypeVar("S")


def plain(statement: S) -> S:
    """Mark a SELECT that may run straight on the driver's cursor (see PlainReads)."""
    _PLAIN[id(statement)] = statement
    return statement


class _Compiled:
    """One plain statement compiled for one dialect (and one length of each list it takes)."""

    def __init__(self, statement: Any, engine: Engine, params: Mapping[str, Any]):
        dialect = engine.dialect
        lengths = {name: len(v) for name, v in params.items() if isinstance(v, list)}
        # Stand-ins: compiling needs a value for every parameter, and each list's length.
        values = {name: [None] * lengths[name] if name in lengths else None for name in params}
        compiled = statement.params(**values).compile(
            dialect=dialect, compile_kwargs={"render_postcompile": True}
        )
        self.sql = compiled.string
        self.positional = compiled.positional
        # Where each positional value comes from: a parameter, or one item of a list.
        self.sources: list[tuple[str, int | None]] = []
        for name in compiled.positiontup or ():
            base, _, index = name.rpartition("_")
            if name not in compiled.binds and base in lengths:
                self.sources.append((base, int(index) - 1))
            else:
                self.sources.append((name, None))
        binds = compiled.binds.values()
        # Named parameters (psycopg's style) go as they are, each through its type's
        # processing (an ARRAY's, say), as a Connection would send them.
        self.bind_processors = {
            bind.key: processor
            for bind in binds
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect))
        }
        if compiled.positional:
            self.usable = not self.bind_processors
        else:
            self.usable = not any(bind.expanding for bind in binds)
        columns = list(statement.selected_columns)
        self.row: Any = namedtuple("Row", [c.key for c in columns])  # type: ignore[misc]
        self.processors = [
            c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns
        ]

    def parameters(self, params: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        if not self.positional:
            processors = self.bind_processors
            return {k: processors[k](v) if k in processors else v for k, v in params.items()}
        return tuple(
            params[name] if index is None else params[name][index] for name, index in self.sources
        )


class PlainResult(list[Any]):
    """Rows of a plain read, as a list; first() as a Result has it."""

    def first(self) -> Any:
        return self[0] if self else None


_compiled: dict[tuple[int, str, tuple[tuple[str, int], ...]], _Compiled] = {}


class PlainReads:
    """What a read callback gets: `execute` runs the plain statements on the pooled driver
    connection, anything else on a Connection made from that same one when first needed.
    Closed by read_with_retry.

    On PostgreSQL the connection is in autocommit for the read: no BEGIN and ROLLBACK around
    it, two round trips fewer. Each statement sees the latest commit, as a read on SQLite does;
    cached pages are keyed by the thread version read first, so a page can only ever be newer
    than its key. It goes back to the pool as it came, out of autocommit."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.dialect = engine.dialect
        self._raw: PoolProxiedConnection | None = engine.raw_connection()
        self._conn: Connection | None = None
        self._autocommit: Any = None  # the driver connection put in autocommit
        if self.dialect.name == "postgresql":
            self._autocommit = self._raw.driver_connection
            self._autocommit.autocommit = True

    def execute(self, statement: Any, params: Mapping[str, Any] | None = None) -> Any:
        params = params or {}
        if _PLAIN.get(id(statement)) is statement and self._conn is None:
            compiled = self._compile(statement, params)
            if compiled.usable:
                return self._run(compiled, params)
        return self.connection().execute(statement, params)

    def connection(self) -> Connection:
        if self._conn is None:
            self._conn = Connection(self.engine, connection=self._raw)
            self._raw = None  # the Connection returns it to the pool
        return self._conn

    def _compile(self, statement: Any, params: Mapping[str, Any]) -> _Compiled:
        lengths = tuple(sorted((k, len(v)) for k, v in params.items() if isinstance(v, list)))
        key = (id(statement), self.dialect.name, lengths)
        compiled = _compiled.get(key)
        if compiled is None:
            if len(_compiled) > 1000:
                _compiled.clear()
            compiled = _compiled[key] = _Compiled(statement, self.engine, params)
        return compiled

    def _run(self, compiled: _Compiled, params: Mapping[str, Any]) -> PlainResult:
        assert self._raw is not None  # noqa: S101  (execute checked it)
        values = compiled.parameters(params)
        cursor = self._raw.cursor()
        try:
            cursor.execute(compiled.sql, values)
            rows = cursor.fetchall()
        except self.dialect.loaded_dbapi.Error as exc:
            lost = self.dialect.is_disconnect(exc, self._raw, cursor)
            if lost:
                self._raw.invalidate(exc)
            raise DBAPIError.instance(
                compiled.sql,
                values,
                exc,
                self.dialect.loaded_dbapi.Error,
                connection_invalidated=lost,
                dialect=self.dialect,
            ) from exc
        finally:
            cursor.close()
        processors, row = compiled.processors, compiled.row
        if any(processors):
            rows = [[p(v) if p else v for p, v in zip(processors, r, strict=True)] for r in rows]
        return PlainResult(row._make(r) for r in rows)

    def close(self) -> None:
        try:
            if self._autocommit is not None and not self._autocommit.closed:
                self._autocommit.autocommit = False
        except self.dialect.loaded_dbapi.Error as exc:
            if self._raw is not None:
                self._raw.invalidate(exc)  # a connection in doubt is not handed out again
        finally:
            if self._conn is not None:
                self._conn.close()
            elif self._raw is not None:
                self._raw.close()
                self._raw = None


def _watched(engine: Engine) -> bool:
    """Whether anything listens to this engine's statements (they must then see every one)."""
    dispatch = engine.dispatch
    return bool(
        dispatch.before_cursor_execute
        or dispatch.after_cursor_execute
        or dispatch.before_execute
        or dispatch.after_execute
        or engine.dialect.dispatch.handle_error
    )


def _read(read: Callable[[Any], T], engine: Engine | None) -> T:
    engine = engine or db.engine
    if engine.dialect.name in ("sqlite", "postgresql") and not _watched(engine):
        reads = PlainReads(engine)
        try:
            return read(reads)
        finally:
            reads.close()
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT")  # as PlainReads reads
        return read(conn)


def read_with_retry(read: Callable[[Any], T], engine: Engine | None = None) -> T:
    """Run a read on a fresh connection of `engine` (the current app's by default): PlainReads,
    or a Connection while statements are watched. Once more if the server had dropped that
    connection (after a database restart every pooled connection is dead, and is replaced on
    failure)."""
    try:
        return _read(read, engine)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    return _read(read, engine)
