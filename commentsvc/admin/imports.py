"""Admins only: importing another comment system's export, or ours, from an uploaded file."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from flask import abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from ..audit import record
from ..comments import DEFAULT_SITE
from ..config import current_settings
from ..errors import BadImportFile
from ..extensions import csrf, db
from . import bp
from .forms import FORMAT_HINTS, ImportForm

if TYPE_CHECKING:
    from ..importers import Report

LISTED = 200  # refused records or moved replies listed one by one; beyond, only counted


@bp.route("/import", methods=["GET", "POST"])
# _admitted checks the token, once the body may be as large as an export. (Flask-WTF has no
# types.)
@csrf.exempt  # type: ignore[untyped-decorator]
def imports() -> ResponseReturnValue:
    """A form to upload an export; a dry run reports what it would do, an import does it."""
    if not _admitted():
        form = ImportForm(formdata=None)
        form.upload.errors = [
            f"The file is larger than the {_size(_limit())} this page "
            "accepts. Import it with the command line instead: "
            "commentsvc import FORMAT FILE."
        ]
        return _page(form, 413)
    form = ImportForm()
    if not form.validate_on_submit():
        return _page(form, 400 if request.method == "POST" else 200)
    try:
        report = _run(form)
    except BadImportFile as exc:
        db.session.rollback()
        form.upload.errors.append(f"This file cannot be imported: {exc}")
        return _page(form, 400)
    return _page(form, 200, report)


def _admitted() -> bool:
    """Check the CSRF token, then the role; False when the body is over the import limit."""
    # The app-wide CSRF check would read the body under the small limit of every other form,
    # hence this one. The token comes before the role, as on every admin page, and only an
    # admin's request may be as large as an export.
    admin = current_user.is_admin
    if admin:
        request.max_content_length = _limit()
    try:
        csrf.protect()
    except RequestEntityTooLarge:
        if not admin:
            raise
        return False
    if not admin:
        abort(403)
    return True


def _run(form: ImportForm) -> Report:
    """Import the upload into the site, or dry-run it; only a real import is kept and logged."""
    from ..importers import import_file  # the readers load with the first import, not before

    site = form.site.data or DEFAULT_SITE
    dry_run = not form.save.data  # pressing Enter, or no button at all, only tries
    with _saved(form.upload.data) as path:
        report = import_file(
            db.session(),
            current_settings(),
            form.fmt.data,
            path,
            site=site,
            status=form.status.data,
            dry_run=dry_run,
        )
    if dry_run:
        db.session.rollback()
    else:
        record(
            db.session(),
            current_user._get_current_object(),
            "import",
            f"site {site}",
            _summary(report),
        )
        db.session.commit()
    return report


@contextmanager
def _saved(upload: FileStorage) -> Iterator[str]:
    """The path of a private copy of the upload, removed whatever happens."""
    with tempfile.NamedTemporaryFile(prefix="commentsvc-import-") as copy:
        upload.save(copy)
        copy.flush()
        yield copy.name


def _summary(report: Report) -> str:
    statuses = report.by_status()
    return (
        f"{report.format}: {report.threads_created} threads created, "
        f"{report.threads_reused} reused; {report.comments} comments imported"
        + (f" ({statuses})" if statuses else "")
        + f", {report.skipped} skipped, {len(report.refused)} refused"
    )


def _outline(lines: list[str]) -> list[tuple[str, list[str]]]:
    """A report's lines as items, each with the indented lines that detail it."""
    items: list[tuple[str, list[str]]] = []
    for line in lines:
        if line.startswith(" ") and items:
            items[-1][1].append(line.strip())
        else:
            items.append((line, []))
    return items


def _limit() -> int:
    limit: int = current_settings().import_max_bytes
    return limit


def _size(n: int) -> str:
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


def _page(form: ImportForm, status: int, report: Report | None = None) -> ResponseReturnValue:
    lines = _outline(report.lines()) if report else []
    return render_template(
        "admin/import.html",
        form=form,
        report=report,
        heading=lines[0][0] if lines else None,
        items=lines[1:],
        hints=FORMAT_HINTS,
        limit=_size(_limit()),
        listed=LISTED,
    ), status
