"""Bans (by e-mail or address hash) and blocklisted words."""

from __future__ import annotations

from typing import TypeVar, cast

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..models import Ban, BanKind, BlockedWord, Comment, RuleAction
from ..rules import add_ban, block_word, lift_ban, unblock_word
from . import admin_required, back, bp, only_my_sites, require_site, visible_sites
from .forms import ActionForm, BanForm, WordForm

RuleForm = TypeVar("RuleForm", BanForm, WordForm)


def _with_sites(form: RuleForm) -> RuleForm:
    """A rule form whose site list is the sites this moderator acts on."""
    form.site.choices = [(name, name) for name in visible_sites()]
    if not form.site.data and form.site.choices:
        form.site.data = form.site.choices[0][0]
    return form


@bp.route("/bans", methods=["GET", "POST"])
def bans() -> ResponseReturnValue:
    """The bans, and a form to add one."""
    form = _with_sites(BanForm())
    if form.validate_on_submit():
        add_ban(
            db.session(),
            BanKind(form.kind.data),
            form.value.data,
            RuleAction(form.action.data),
            form.reason.data or None,
            current_user._get_current_object(),
            site=form.site.data,
        )
        db.session.commit()
        flash("The ban is in place.")
        return redirect(url_for("admin.bans"), 303)
    rows = (
        db.session.execute(only_my_sites(select(Ban), Ban.site).order_by(Ban.created.desc()))
        .scalars()
        .all()
    )
    status = 400 if request.method == "POST" else 200
    return render_template(
        "admin/bans.html", bans=rows, form=form, action_form=ActionForm()
    ), status


@bp.post("/comments/<int:comment_id>/ban")
def ban_author(comment_id: int) -> ResponseReturnValue:
    """Ban the author of a comment by e-mail or by address, from the queue."""
    comment = db.get_or_404(Comment, comment_id)
    require_site(comment.thread.site)
    kind = request.form.get("kind", "email")
    value = comment.email if kind == "email" else comment.remote_hash
    if kind not in ("email", "address") or not value:
        flash("This comment has no " + ("e-mail" if kind == "email" else "address") + " to ban.")
        return back()
    action = request.form.get("action", RuleAction.hold.value)
    add_ban(
        db.session(),
        BanKind(kind),
        value,
        RuleAction(action) if action in RuleAction._value2member_map_ else RuleAction.hold,
        f"from comment {comment_id}",
        current_user._get_current_object(),
        site=comment.thread.site,
    )
    db.session.commit()
    flash(f"The author of comment {comment_id} is banned by {kind}.")
    return back()


@bp.post("/bans/<int:ban_id>/delete")
def unban(ban_id: int) -> ResponseReturnValue:
    """Lift a ban."""
    ban = db.get_or_404(Ban, ban_id)
    require_site(ban.site)
    lift_ban(db.session(), ban, current_user._get_current_object())
    db.session.commit()
    flash("The ban is lifted.")
    return redirect(url_for("admin.bans"), 303)


@bp.route("/words", methods=["GET", "POST"])
@admin_required
def words() -> ResponseReturnValue:
    """Blocklisted words: comments containing one are held, marked as spam or refused."""
    form = _with_sites(WordForm())
    if form.validate_on_submit():
        entry = block_word(
            db.session(),
            cast(str, form.word.data),
            RuleAction(form.action.data),
            current_user._get_current_object(),
            site=form.site.data,
        )
        db.session.commit()
        flash(f"“{entry.word}” is on the blocklist.")
        return redirect(url_for("admin.words"), 303)
    rows = (
        db.session.execute(
            only_my_sites(select(BlockedWord), BlockedWord.site).order_by(
                BlockedWord.site, BlockedWord.word
            )
        )
        .scalars()
        .all()
    )
    status = 400 if request.method == "POST" else 200
    return render_template(
        "admin/words.html", words=rows, form=form, action_form=ActionForm()
    ), status


@bp.post("/words/<int:word_id>/delete")
@admin_required
def unblock(word_id: int) -> ResponseReturnValue:
    """Take a word off the blocklist."""
    entry = db.get_or_404(BlockedWord, word_id)
    unblock_word(db.session(), entry, current_user._get_current_object())
    db.session.commit()
    flash(f"“{entry.word}” is off the blocklist.")
    return redirect(url_for("admin.words"), 303)
