"""Moving in and out: importers for Blogger, Disqus, WordPress, Isso and our own export."""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from multiprocessing.pool import Pool
from typing import Any

from sqlalchemy.orm import Session

from ..config import Settings
from ..errors import BadImportFile
from ..import_formats import IMPORT_FORMATS as NAMES
from ..import_formats import IMPORT_STATUSES
from ..models import Status
from . import blogger, disqus, isso, native, wordpress
from .records import Progress, Reader
from .store import Loader, Report, read_uri_map

READERS: dict[str, Reader] = {
    "blogger": blogger.read,
    "disqus": disqus.read,
    "wordpress": wordpress.read,
    "isso": isso.read,
    "commentsvc": native.read,
}

__all__ = ["IMPORT_STATUSES", "NAMES", "READERS", "Report", "import_file", "read_uri_map"]


def import_file(
    session: Session,
    settings: Settings,
    fmt: str,
    path: str,
    *,
    site: str = "default",
    uri_map: Mapping[str, str] | None = None,
    status: str | None = None,
    progress: Progress | None = None,
    dry_run: bool = False,
    workers: int = 0,
) -> Report:
    """Import `path` into `site`, inside the caller's transaction (which it neither commits nor
    rolls back); raises errors.BadImportFile, with a one-line message, for a file it cannot
    read as `fmt`. Nothing is mailed. With `workers`, that many processes sanitise the texts
    (for the command line; a web process imports on its own)."""
    from .. import sites

    report = Report(format=NAMES[fmt], dry_run=dry_run)
    if sites.get(session, site) is None:
        if not sites.NAME.fullmatch(site):
            raise BadImportFile(
                f"{site!r} is not a site name (lowercase letters, digits and hyphens)"
            )
        # A new site, with the install's settings until `commentsvc site set` gives it its own.
        sites.add(session, site, origins=[], actor="import")
        report.site_created = site
    with _quiet_collector(), _unprepared(session), _pool(workers) as pool:
        loader = Loader(
            session,
            settings,
            site=site,
            report=report,
            uri_map=uri_map,
            status=Status(status) if status else None,
            pool=pool,
        )
        for record in READERS[fmt](path, progress):
            loader.add(record)
        return loader.finish()


@contextmanager
def _quiet_collector() -> Iterator[None]:
    # The objects the app loaded are not garbage: leaving them out of the collector's walks
    # saves an import of 100,000 comments 3 s on SQLite and 9 s on PostgreSQL.
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextmanager
def _unprepared(session: Session) -> Iterator[None]:
    """No server-side prepared statements on PostgreSQL for the import: each batch's INSERT
    would be kept as one (about 350 KB of SQL each, up to 100 of them)."""
    driver: Any = session.connection().connection.driver_connection  # the DB-API's own
    if not hasattr(driver, "prepare_threshold"):
        yield
        return
    was, driver.prepare_threshold = driver.prepare_threshold, None
    try:
        yield
    finally:
        driver.prepare_threshold = was


@contextmanager
def _pool(workers: int) -> Iterator[Pool | None]:
    if workers < 2:
        yield None
        return
    # Forked: the workers run only store.derive (no database, no app state of their own).
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        yield pool
