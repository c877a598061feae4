"""The moderation queue: filter, read, and act on comments one at a time or many at once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from flask import flash, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import Select, case, func, select

from .. import comments as domain
from ..config import current_settings
from ..errors import ValidationFailed
from ..extensions import db
from ..models import Comment, Status, Thread
from ..moderation import ACTIONS, moderate
from . import back, bp, only_my_sites, require_site
from .forms import ActionForm, TextForm

PER_PAGE = 25
STATUS_FILTERS = ("pending", "approved", "spam", "deleted", "all")


def _filtered(status: str, args: Mapping[str, str]) -> Select[Comment]:
    query = only_my_sites(select(Comment).join(Thread))
    if status != "all":
        query = query.where(Comment.status == Status(status))
    if args.get("thread", "").isdigit():
        query = query.where(Comment.thread_id == int(args["thread"]))
    if author := args.get("author", "").strip().lower():
        query = query.where(func.lower(Comment.author).contains(author, autoescape=True))
    if email := args.get("email", "").strip().lower():
        query = query.where(Comment.email.contains(email, autoescape=True))
    if text := args.get("q", "").strip().lower():
        query = query.where(func.lower(Comment.text).contains(text, autoescape=True))
    if status == "pending":
        return query.order_by(Comment.created, Comment.id)  # oldest first: first come, first seen
    pending_first = case((Comment.status == Status.pending, 0), else_=1)
    return query.order_by(pending_first, Comment.created.desc(), Comment.id.desc())


def status_counts() -> dict[str, int]:
    rows = db.session.execute(
        only_my_sites(select(Comment.status, func.count()).join(Thread)).group_by(Comment.status)
    ).all()
    counts = {s.value: 0 for s in Status}
    counts.update({status.value: n for status, n in rows})
    return counts


@bp.get("/")
def queue() -> ResponseReturnValue:
    """Comments to review, pending first and oldest first, with filters and pages."""
    status = request.args.get("status", "pending")
    if status not in STATUS_FILTERS:
        status = "pending"
    page = db.paginate(_filtered(status, request.args), per_page=PER_PAGE, error_out=False)
    return render_template(
        "admin/queue.html",
        page=page,
        status=status,
        counts=status_counts(),
        form=ActionForm(),
        filters={k: request.args.get(k, "") for k in ("thread", "author", "email", "q", "site")},
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
    comments = db.session.execute(select(Comment).where(Comment.id.in_(ids))).scalars().all()
    for comment in comments:
        require_site(comment.thread.site)  # nothing changes if one is another site's
    changed = sum(
        moderate(db.session(), current_settings(), c, action, moderator) for c in comments
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
