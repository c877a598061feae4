"""Moving in and out: importers for Blogger, Disqus, WordPress, Isso and our own export."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from ..models import Status
from . import blogger, disqus, isso, native, wordpress
from .records import Progress, Reader
from .store import Loader, Report, read_uri_map

READERS: dict[str, Reader] = {
    "blogger": blogger.read, "disqus": disqus.read, "wordpress": wordpress.read,
    "isso": isso.read, "commentsvc": native.read,
}
NAMES = {"blogger": "Blogger", "disqus": "Disqus", "wordpress": "WordPress", "isso": "Isso",
         "commentsvc": "commentsvc"}
IMPORT_STATUSES = ("approved", "pending")

__all__ = ["IMPORT_STATUSES", "NAMES", "READERS", "Report", "import_file", "read_uri_map"]


def import_file(session: Session, config: Mapping[str, Any], fmt: str, path: str, *,
                site: str = "default", uri_map: Mapping[str, str] | None = None,
                status: str | None = None, progress: Progress | None = None,
                dry_run: bool = False) -> Report:
    """Import `path` into `site`, inside the caller's transaction (which it neither commits nor
    rolls back); raises errors.BadImportFile, with a one-line message, for a file it cannot
    read as `fmt`. Nothing is mailed."""
    report = Report(format=NAMES[fmt], dry_run=dry_run)
    loader = Loader(session, config, site=site, report=report, uri_map=uri_map,
                    status=Status(status) if status else None)
    for record in READERS[fmt](path, progress):
        loader.add(record)
    return loader.finish()
