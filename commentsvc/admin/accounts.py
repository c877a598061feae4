"""Admins only: moderator accounts and the audit log."""

from __future__ import annotations

from typing import cast

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from .. import sites
from ..accounts import create_moderator, set_active
from ..errors import ValidationFailed
from ..extensions import db
from ..models import AuditEntry, Moderator, Role
from . import admin_required, bp
from .forms import ActionForm, ModeratorForm, ModeratorSitesForm

AUDIT_PER_PAGE = 50


@bp.route("/moderators", methods=["GET", "POST"])
@admin_required
def moderators() -> ResponseReturnValue:
    """The moderator accounts, and a form to add one."""
    form = ModeratorForm()
    form.sites.choices = [(name, name) for name in sites.names(db.session())]
    if form.validate_on_submit():
        role = Role(form.role.data)
        try:
            moderator = create_moderator(
                db.session(),
                current_user._get_current_object(),
                name=cast(str, form.name.data),
                email=cast(str, form.email.data),
                password=cast(str, form.password.data),
                role=role,
                active=form.active.data,
                display_name=form.display_name.data,
                sites=None if role == Role.admin else form.sites.data,
            )
        except ValidationFailed as exc:
            db.session.rollback()  # nothing of a refused account is kept, nor listed below
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
        "admin/moderators.html",
        moderators=rows,
        their_sites=sites.sites_by_moderator(db.session()),
        form=form,
        action_form=ActionForm(),
    ), status


@bp.route("/moderators/<int:moderator_id>/sites", methods=["GET", "POST"])
@admin_required
def moderator_sites(moderator_id: int) -> ResponseReturnValue:
    """Change which sites a moderator moderates."""
    moderator = db.get_or_404(Moderator, moderator_id)
    form = ModeratorSitesForm()
    form.sites.choices = [(name, name) for name in sites.names(db.session())]
    if request.method == "GET":
        form.sites.data = sites.moderator_sites(db.session(), moderator) or []
    if form.validate_on_submit():
        try:
            sites.assign(
                db.session(), current_user._get_current_object(), moderator, form.sites.data or []
            )
        except ValidationFailed as exc:
            db.session.rollback()
            form.sites.errors = [*form.sites.errors, *exc.fields.get("sites", [str(exc)])]
        else:
            db.session.commit()
            flash(f"{moderator.name} moderates {', '.join(sorted(set(form.sites.data or [])))}.")
            return redirect(url_for("admin.moderators"), 303)
    status = 400 if request.method == "POST" else 200
    return render_template("admin/moderator_sites.html", moderator=moderator, form=form), status


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
