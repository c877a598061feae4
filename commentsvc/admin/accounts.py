"""Admins only: moderator accounts and the audit log."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select
from werkzeug.security import generate_password_hash

from ..accounts import set_active
from ..extensions import db
from ..models import AuditEntry, Moderator, Role
from ..moderation import record
from . import admin_required, bp
from .forms import ActionForm, ModeratorForm

AUDIT_PER_PAGE = 50


@bp.route("/moderators", methods=["GET", "POST"])
@admin_required
def moderators():
    """The moderator accounts, and a form to add one."""
    form = ModeratorForm()
    if form.validate_on_submit():
        name, email = form.name.data.strip(), form.email.data.strip().lower()
        taken = db.session.execute(select(Moderator.id).where(or_(
            func.lower(Moderator.name) == name.lower(), Moderator.email == email))).first()
        if taken:
            form.name.errors.append("A moderator with this name or e-mail exists.")
        else:
            moderator = Moderator(name=name, email=email, role=Role(form.role.data),
                                  password_hash=generate_password_hash(form.password.data),
                                  active=form.active.data)
            db.session.add(moderator)
            db.session.flush()
            record(db.session, current_user._get_current_object(), "add moderator",
                   f"moderator {moderator.id}", f"{name} ({moderator.role.value})")
            db.session.commit()
            flash(f"{name} can now log in.")
            return redirect(url_for("admin.moderators"), 303)
    rows = db.session.execute(select(Moderator).order_by(Moderator.name)).scalars().all()
    status = 400 if request.method == "POST" else 200
    return render_template("admin/moderators.html", moderators=rows, form=form,
                           action_form=ActionForm()), status


@bp.post("/moderators/<int:moderator_id>/<any(activate, deactivate):change>")
@admin_required
def activate(moderator_id: int, change: str):
    """Let a moderator log in again, or stop them and end their sessions (never oneself)."""
    moderator = db.get_or_404(Moderator, moderator_id)
    if moderator.id == current_user.id:
        flash("You cannot deactivate yourself.")
    else:
        set_active(db.session, current_user._get_current_object(), moderator,
                   change == "activate")
        db.session.commit()
        flash(f"{moderator.name} is {'active' if moderator.active else 'deactivated'}.")
    return redirect(url_for("admin.moderators"), 303)


@bp.get("/audit")
@admin_required
def audit():
    """Every moderator action, newest first."""
    page = db.paginate(select(AuditEntry).order_by(AuditEntry.created.desc(), AuditEntry.id.desc()),
                       per_page=AUDIT_PER_PAGE, error_out=False)
    return render_template("admin/audit.html", page=page)
