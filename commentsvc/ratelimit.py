"""Rate-limit counters in the service's own database, so every worker process counts against
one budget when no Redis is configured."""

from __future__ import annotations

import hashlib
import random
import time
from typing import Any, cast

from flask import request
from limits.storage import Storage
from sqlalchemy import Row, Table, bindparam, case, delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.dml import ReturningInsert

from . import sites
from .config import current_settings
from .extensions import db, limiter
from .models import RateLimitCounter
from .transactions import upsert_insert

SCHEME = "commentsvc+db"
STORAGE_URI = f"{SCHEME}://"
PRUNE_CHANCE = 0.01  # one increment in a hundred also drops windows that ended

_TABLE = cast(Table, RateLimitCounter.__table__)
_GET = select(_TABLE.c.count, _TABLE.c.expires).where(_TABLE.c.key == bindparam("key"))
_PRUNE = delete(_TABLE).where(_TABLE.c.expires < bindparam("before"))
_CLEAR = delete(_TABLE).where(_TABLE.c.key == bindparam("key"))


def _increment(dialect: str) -> ReturningInsert[Any]:
    """INSERT, or on conflict add to the count (or start a new window if the old one ended),
    returning the new count: one statement, atomic on SQLite and PostgreSQL."""
    stmt = upsert_insert(dialect)(_TABLE).values(
        key=bindparam("key"), count=bindparam("amount"), expires=bindparam("expires")
    )
    ended = _TABLE.c.expires <= bindparam("now")
    return stmt.on_conflict_do_update(
        index_elements=[_TABLE.c.key],
        set_={
            "count": case(
                (ended, stmt.excluded["count"]), else_=_TABLE.c.count + stmt.excluded["count"]
            ),
            "expires": case((ended, stmt.excluded.expires), else_=_TABLE.c.expires),
        },
    ).returning(_TABLE.c.count)


def _stored_key(key: str) -> str:
    # Keys name the client's address; the table keeps only a digest of them.
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class DatabaseStorage(Storage):
    """A fixed-window counter store for `limits` on the current app's database engine (rate
    limits are checked inside requests, so an app context is always there)."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(
        self, uri: str | None = None, wrap_exceptions: bool = False, **options: float | str | bool
    ) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._statements: dict[str, ReturningInsert[Any]] = {}

    @staticmethod
    def _engine() -> Engine:
        return db.engine

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def _upsert(self, engine: Engine) -> ReturningInsert[Any]:
        name = engine.dialect.name
        if name not in self._statements:
            self._statements[name] = _increment(name)
        return self._statements[name]

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        engine = self._engine()
        now = time.time()
        with engine.begin() as conn:
            count: int = conn.execute(
                self._upsert(engine),
                {
                    "key": _stored_key(key),
                    "amount": amount,
                    "expires": now + expiry,
                    "now": now,
                },
            ).scalar_one()
            if random.random() < PRUNE_CHANCE:  # noqa: S311  (housekeeping, not crypto)
                conn.execute(_PRUNE, {"before": now - 60})
        return count

    def _row(self, key: str) -> Row[Any, Any] | None:
        with self._engine().connect() as conn:
            return conn.execute(_GET, {"key": _stored_key(key)}).first()

    def get(self, key: str) -> int:
        row = self._row(key)
        # Row types .count as tuple.count; at run time a column named count takes its place.
        return row.count if row is not None and row.expires > time.time() else 0  # type: ignore[return-value]

    def get_expiry(self, key: str) -> float:
        row = self._row(key)
        return row.expires if row is not None and row.expires > time.time() else time.time()

    def check(self) -> bool:
        try:
            with self._engine().connect() as conn:
                conn.execute(select(1))
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        with self._engine().begin() as conn:
            return conn.execute(delete(_TABLE)).rowcount

    def clear(self, key: str) -> None:
        with self._engine().begin() as conn:
            conn.execute(_CLEAR, {"key": _stored_key(key)})


# --- the budgets that several views share ------------------------------------------------------


def thread_key() -> str:
    """The thread a new comment is for, from the JSON body or the no-JS form, and its site
    (`?site=`, or the no-JS form's field): two blogs' threads at one path are two threads."""
    body = request.get_json(silent=True) if request.is_json else None
    uri = body.get("uri") if isinstance(body, dict) else request.form.get("uri")
    if not isinstance(uri, str):
        return "thread:?"
    site = request.values.get("site") or sites.DEFAULT_SITE
    thread = f"{site}\0{uri}".encode("utf-8", "surrogatepass")
    return "thread:" + hashlib.sha256(thread).hexdigest()[:24]


# One budget for new comments per address, and one per thread from everyone: the JSON API
# and the no-JS form count together.
new_comments_per_address = limiter.shared_limit(
    lambda: current_settings().ratelimit_post, scope="new-comment", methods=["POST"]
)
new_comments_per_thread = limiter.shared_limit(
    lambda: current_settings().ratelimit_thread,
    scope="new-comment-thread",
    key_func=thread_key,
    methods=["POST"],
)
# One budget for a reader's edits and deletes together, per address.
edits_and_deletes = limiter.shared_limit(
    lambda: current_settings().ratelimit_edit, scope="edit-or-delete"
)
# One budget per address for form tokens, asked of the API or carried by the no-JS page's form:
# each is a post's admission ticket, so handing them out without end would help a flood.
form_tokens_per_address = limiter.shared_limit(
    lambda: current_settings().ratelimit_form_token, scope="form-token", methods=["GET"]
)
