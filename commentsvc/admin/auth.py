"""Logging in and out, and changing one's password."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, or_, select
from werkzeug.security import check_password_hash, generate_password_hash

from .. import accounts
from ..errors import ValidationFailed
from ..extensions import db, limiter
from ..models import Moderator
from . import SESSION_KEY, back, bp
from .forms import ActionForm, LoginForm, PasswordForm

# Verifying against a real hash when the account does not exist keeps the timing the same.
_DUMMY_HASH = generate_password_hash("not a real password")


def _login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def _account_key() -> str:
    return "login-account:" + request.form.get("name", "").strip().lower()[:254]


def _failed(response) -> bool:
    return response.status_code == 401


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_failed)
@limiter.limit(_login_limit, methods=["POST"], key_func=_account_key, deduct_when=_failed)
def login():
    """The login form; wrong passwords are throttled per address and per account."""
    if current_user.is_authenticated:
        return redirect(url_for("admin.queue"))
    form = LoginForm()
    if form.validate_on_submit():
        name = form.name.data.strip().lower()
        moderator = db.session.execute(
            select(Moderator).where(or_(func.lower(Moderator.name) == name,
                                        func.lower(Moderator.email) == name))
        ).scalar_one_or_none()
        password_hash = moderator.password_hash if moderator else _DUMMY_HASH
        valid = check_password_hash(password_hash, form.password.data)
        if valid and moderator and moderator.active:
            token = accounts.log_in(db.session, moderator,
                                    accounts.SessionPolicy.from_config(current_app.config))
            db.session.commit()
            session.clear()  # nothing from before the login carries over
            login_user(moderator)
            session[SESSION_KEY] = token
            return back()
        form.password.errors.append("Wrong name or password.")
        return render_template("admin/login.html", form=form), 401
    status = 400 if request.method == "POST" else 200
    return render_template("admin/login.html", form=form), status


@bp.post("/logout")
def logout():
    """End the session (a POST, so no link elsewhere can log a moderator out)."""
    if ActionForm().validate_on_submit():
        accounts.end_session(db.session, session.pop(SESSION_KEY, None))
        db.session.commit()
        logout_user()
        flash("You are logged out.")
    return redirect(url_for("admin.login"), 303)


@bp.route("/password", methods=["GET", "POST"])
def password():
    """Change one's own password; one's other sessions end."""
    form = PasswordForm()
    if form.validate_on_submit():
        if not check_password_hash(current_user.password_hash, form.current.data):
            form.current.errors.append("That is not your current password.")
        else:
            try:
                token = accounts.change_password(db.session, current_user._get_current_object(),
                                                 form.new.data)
            except ValidationFailed as exc:
                form.new.errors.extend(exc.fields.get("new", [exc.message]))
            else:
                db.session.commit()
                session[SESSION_KEY] = token
                flash("Your password is changed; you are logged out everywhere else.")
                return redirect(url_for("admin.queue"), 303)
    status = 400 if request.method == "POST" else 200
    return render_template("admin/password.html", form=form), status
