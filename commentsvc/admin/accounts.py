"""Admins only: moderator accounts and the audit log."""

from __future__ import annotations

from typing import cast

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from ..accounts import create_moderator, set_active
from ..errors import ValidationFailed
from ..extensions import db
from ..models import AuditEntry, Moderator, Role
from . import admin_required, bp
from .forms import ActionForm, ModeratorForm

AUDIT_PER_PAGE = 50


@bp.route("/moderators", methods=["GET", "POST"])
@admin_required
def moderators() -> ResponseReturnValue:
    """The moderator accounts, and a form to add one."""
    form = ModeratorForm()
    if form.validate_on_submit():
        try:
            moderator = create_moderator(
                db.session(),
                current_user._get_current_object(),
                name=cast(str, form.name.data),
                email=cast(str, form.email.data),
                password=cast(str, form.password.data),
                role=Role(form.role.data),
                active=form.active.data,
                display_name=form.display_name.data,
            )
        except ValidationFailed as exc:
            for field, reasons in exc.fields.items():
                target = getattr(form, field, form.name)
                target.errors = [*target.errors, *reasons]
        else:
            db.session.commit()
            flash(f"{moderator.name} can now log in.")
            return redirect(url_for("admin.moderators"), 303)
    rows = db.session.execute(select(Moderator).order_by(Moderator.name)).scalars().all()
    status = 400 if request.method == "POST" else 200
    return render_template(
        "admin/moderators.html", moderators=rows, form=form, action_form=ActionForm()
    ), status


@bp.post("/moderators/<int:moderator_id>/<any(activate, deactivate):change>")
@admin_required
def activate(moderator_id: int, change: str) -> ResponseReturnValue:
    """Let a moderator log in again, or stop them and end their sessions (never oneself)."""
    moderator = db.get_or_404(Moderator, moderator_id)
    if moderator.id == current_user.id:
        flash("You cannot deactivate yourself.")
    else:
        set_active(
            db.session(), current_user._get_current_object(), moderator, change == "activate"
        )
        db.session.commit()
        flash(f"{moderator.name} is {'active' if moderator.active else 'deactivated'}.")
    return redirect(url_for("admin.moderators"), 303)


@bp.get("/audit")
@admin_required
def audit() -> ResponseReturnValue:
    """Every moderator action, newest first."""
    page = db.paginate(
        select(AuditEntry).order_by(AuditEntry.created.desc(), AuditEntry.id.desc()),
        per_page=AUDIT_PER_PAGE,
        error_out=False,
    )
    return render_template("admin/audit.html", page=page)
