"""Threads: counts per status, close and reopen, rename."""

from __future__ import annotations

from flask import flash, render_template
from flask.typing import ResponseReturnValue
from flask_login import current_user

from .. import queue
from ..extensions import db
from ..models import Thread
from ..moderation import rename_thread, set_thread_closed
from . import back, bp, require_site, shown_sites
from .forms import ActionForm, RenameForm

PER_PAGE = 50


@bp.get("/threads")
def threads() -> ResponseReturnValue:
    """Every thread with its comments counted per status, newest thread first."""
    page = db.paginate(queue.threads(shown_sites()), per_page=PER_PAGE, error_out=False)
    counts = queue.counts_by_thread(db.session(), [t.id for t in page.items])
    return render_template(
        "admin/threads.html", page=page, counts=counts, form=ActionForm(), rename=RenameForm()
    )


def _thread(thread_id: int) -> Thread:
    thread = db.get_or_404(Thread, thread_id)
    require_site(thread.site)
    return thread


@bp.post("/threads/<int:thread_id>/<any(close, reopen):change>")
def close(thread_id: int, change: str) -> ResponseReturnValue:
    """Close a thread to new comments, or reopen it."""
    thread = _thread(thread_id)
    set_thread_closed(db.session(), thread, change == "close", current_user._get_current_object())
    db.session.commit()
    flash(f"Thread {thread.uri} is {'closed' if thread.closed else 'open'}.")
    return back("admin.threads")


@bp.post("/threads/<int:thread_id>/rename")
def rename(thread_id: int) -> ResponseReturnValue:
    """Give a thread a new title."""
    thread = _thread(thread_id)
    form = RenameForm()
    if form.validate_on_submit():
        rename_thread(
            db.session(),
            thread,
            (form.title.data or "").strip() or None,
            current_user._get_current_object(),
        )
        db.session.commit()
        flash(f"Thread {thread.uri} is renamed.")
    else:
        flash("A title is at most 200 characters.")
    return back("admin.threads")
