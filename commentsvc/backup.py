"""`commentsvc backup FILE`: a consistent copy of a live SQLite database."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from .errors import BackupRefused


def sqlite_path(database_url: str) -> Path:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise BackupRefused(
            f"the database is {url.get_backend_name()}, not SQLite: back it up with its own "
            f"tool, e.g. pg_dump --format=custom --file=comments.dump {url.database or 'DB'} "
            "(docs/deploy.md, Backups)"
        )
    if not url.database or url.database == ":memory:":
        raise BackupRefused("the database is in memory: there is nothing to copy")
    return Path(url.database)


def backup_sqlite(source: Path, target: Path) -> int:
    """Copy `source` to `target` with SQLite's online backup API: one consistent snapshot,
    while the service goes on writing; the target appears whole or not at all. Returns its
    size in bytes."""
    if not source.exists():
        raise BackupRefused(f"there is no database at {source}")
    target = target.resolve()
    handle, partial = tempfile.mkstemp(prefix=".backup-", dir=target.parent)
    os.close(handle)
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
        dst = sqlite3.connect(partial)
        try:
            with dst:
                src.backup(dst)  # every page in one step: a snapshot of one moment
        finally:
            dst.close()
            src.close()
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return target.stat().st_size
