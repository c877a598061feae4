"""The moderation queue: filter, read, and act on comments one at a time or many at once."""

from __future__ import annotations

from typing import cast

from flask import flash, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user

from .. import comments as domain
from .. import queue as queue_of
from ..config import current_settings
from ..errors import ValidationFailed
from ..extensions import db
from ..models import Comment
from ..moderation import ACTIONS, moderate, moderate_many
from . import back, bp, my_sites, require_site, shown_sites
from .forms import ActionForm, TextForm

PER_PAGE = 25


@bp.get("/")
def queue() -> ResponseReturnValue:
    """Comments to review, pending first and oldest first, with filters and pages."""
    status = request.args.get("status", "pending")
    if status not in queue_of.STATUS_FILTERS:
        status = "pending"
    seen = shown_sites()
    page = db.paginate(
        queue_of.comments(status, request.args, seen), per_page=PER_PAGE, error_out=False
    )
    return render_template(
        "admin/queue.html",
        page=page,
        status=status,
        counts=queue_of.status_counts(db.session(), seen),
        form=ActionForm(),
        filters={
            k: request.args.get(k, "") for k in ("thread", "author", "email", "q", "site", "order")
        },
        actions=list(ACTIONS),
    )


def _comment(comment_id: int) -> Comment:
    """A comment by id: 404 when there is none, 403 when it is another site's."""
    comment = db.get_or_404(Comment, comment_id)
    require_site(comment.thread.site)
    return comment


@bp.post("/comments/<int:comment_id>/<any(approve, spam, delete, restore):action>")
def act(comment_id: int, action: str) -> ResponseReturnValue:
    """Approve, mark as spam, delete or restore one comment."""
    form = ActionForm()
    if form.validate_on_submit():
        changed = moderate(
            db.session(),
            current_settings(),
            _comment(comment_id),
            action,
            current_user._get_current_object(),
        )
        db.session.commit()
        flash(
            f"Comment {comment_id}: {action} done."
            if changed
            else f"Comment {comment_id} was already so."
        )
    return back()


@bp.post("/bulk")
def bulk() -> ResponseReturnValue:
    """Apply one action to every selected comment."""
    form = ActionForm()
    action = request.form.get("action", "")
    ids = [int(i) for i in request.form.getlist("ids") if i.isdigit()]
    if not form.validate_on_submit() or action not in ACTIONS or not ids:
        flash("Select comments and an action.")
        return back()
    moderator = current_user._get_current_object()
    changed = moderate_many(  # nothing changes if one is another site's
        db.session(), current_settings(), ids, action, moderator, my_sites()
    )
    db.session.commit()
    flash(f"{action}: {changed} of {len(ids)} selected comment(s) changed.")
    return back()


@bp.route("/comments/<int:comment_id>/edit", methods=["GET", "POST"])
def edit(comment_id: int) -> ResponseReturnValue:
    """Correct a comment's text; it is rendered again."""
    comment = _comment(comment_id)
    form = TextForm(data={"text": comment.text} if request.method == "GET" else None)
    if form.validate_on_submit():
        domain.edit_as_moderator(
            db.session(), comment, cast(str, form.text.data), current_user._get_current_object()
        )
        db.session.commit()
        flash(f"Comment {comment_id} is changed.")
        return back()
    status = 400 if request.method == "POST" else 200
    return render_template(
        "admin/edit.html", comment=comment, form=form, title="Edit comment", submit="Save"
    ), status


@bp.route("/comments/<int:comment_id>/reply", methods=["GET", "POST"])
def reply(comment_id: int) -> ResponseReturnValue:
    """Reply as a moderator: public at once."""
    comment = _comment(comment_id)
    form = TextForm()
    if form.validate_on_submit():
        try:
            domain.reply_as_moderator(
                db.session(),
                current_settings(),
                comment,
                current_user._get_current_object(),
                cast(str, form.text.data),
            )
        except ValidationFailed as exc:
            form.text.errors = [*form.text.errors, *exc.fields.get("text", [])]
        else:
            db.session.commit()
            flash(f"Your reply to comment {comment_id} is published.")
            return back()
    status = 400 if request.method == "POST" else 200
    return render_template(
        "admin/edit.html",
        comment=comment,
        form=form,
        title="Reply as moderator",
        submit="Publish reply",
    ), status
