"""Logging in and out, and one's own account: password and display name."""

from __future__ import annotations

import ipaddress
import math
import time
from typing import cast

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user
from limits import RateLimitItem, parse_many

from .. import accounts
from ..config import current_settings
from ..errors import ValidationFailed
from ..extensions import db, limiter
from . import SESSION_KEY, back, bp, error_page, is_admin_path
from .forms import ActionForm, DisplayNameForm, LoginForm, PasswordForm

Counter = tuple[RateLimitItem, tuple[str, ...]]


def _address_key(address: str) -> str:
    """One counter per IPv4 address, and per IPv6 /64 (what one host is usually given)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _counters(subject: str) -> list[Counter]:
    """The failed-login counters of this try: its address's, and the account's from there.
    Never the account's alone: strangers' failures must not lock its owner out."""
    settings = current_settings()
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX", "commentsvc")
    address = _address_key(get_remote_address() or "?")
    counters: list[Counter] = [
        (item, (prefix, "admin-login", address))
        for item in parse_many(settings.ratelimit_login_address)
    ]
    counters += [
        (item, (prefix, "admin-login", subject, address))
        for item in parse_many(settings.ratelimit_login)
    ]
    return counters


def _seconds_to_wait(counters: list[Counter]) -> int:
    """0 when none of the counters is spent, else how long until all of them allow a try."""
    if not current_settings().ratelimit_enabled:
        return 0
    strategy, now, wait = limiter.limiter, time.time(), 0
    for item, keys in counters:
        if not strategy.test(item, *keys):
            reset = strategy.get_window_stats(item, *keys).reset_time
            wait = max(wait, math.ceil(reset - now), 1)
    return wait


def _count_failure(counters: list[Counter]) -> None:
    if current_settings().ratelimit_enabled:
        for item, keys in counters:
            limiter.limiter.hit(item, *keys)


def _too_many(wait: int) -> ResponseReturnValue:
    minutes = math.ceil(wait / 60)
    when = f"{wait} seconds" if wait < 60 else f"{minutes} minute{'s' if minutes > 1 else ''}"
    message = (
        f"Too many attempts with a wrong password. Please try again in {when}; "
        "logging in from elsewhere still works."
    )
    body = render_template("admin/error.html", title="Too many attempts", message=message)
    return body, 429, {"Retry-After": str(wait)}


BAD_NEXT = (
    "This login link asks to go on to an address that is not one of the admin pages (another "
    "site, or one with control characters), so it was not followed and no one was logged in. "
    "Log in from /admin/login instead."
)


def _next_is_ours() -> bool:
    """Whether the page to go on to after logging in, if any, is a plain admin path. A crafted
    one is refused before anything else, rather than quietly dropped after a login."""
    targets = (request.args.get("next"), request.form.get("next"))
    return all(is_admin_path(target) for target in targets if target)


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The login form; wrong passwords slow down the address they come from."""
    if not _next_is_ours():
        return error_page(400, BAD_NEXT)
    if current_user.is_authenticated:
        return redirect(url_for("admin.queue"))
    form = LoginForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("admin/login.html", form=form), status
    name = cast(str, form.name.data)  # required, so a string once validated
    moderator = accounts.find_for_login(db.session(), name)
    counters = _counters(accounts.throttle_subject(moderator, name))
    if wait := _seconds_to_wait(counters):
        return _too_many(wait)
    if accounts.password_matches(moderator, cast(str, form.password.data)) and moderator.active:
        token = accounts.log_in(
            db.session(), moderator, accounts.SessionPolicy.from_settings(current_settings())
        )
        db.session.commit()
        session.clear()  # nothing from before the login carries over
        login_user(moderator)
        session[SESSION_KEY] = token
        return back()
    _count_failure(counters)
    form.password.errors = [*form.password.errors, "Wrong name or password."]
    return render_template("admin/login.html", form=form), 401


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End the session (a POST, so no link elsewhere can log a moderator out)."""
    if ActionForm().validate_on_submit():
        accounts.end_session(db.session(), session.pop(SESSION_KEY, None))
        db.session.commit()
        logout_user()
        flash("You are logged out.")
    return redirect(url_for("admin.login"), 303)


def _account_page(
    password_form: PasswordForm | None = None,
    name_form: DisplayNameForm | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    """The page where moderators change their password and the name on their replies."""
    me = current_user._get_current_object()
    password_form = password_form or PasswordForm(formdata=None)
    name_form = name_form or DisplayNameForm(
        formdata=None, data={"display_name": me.display_name or ""}
    )
    return render_template(
        "admin/password.html", form=password_form, name_form=name_form, title="Your account"
    ), status


@bp.route("/password", methods=["GET", "POST"])
def password() -> ResponseReturnValue:
    """Change one's own password; one's other sessions end."""
    if request.method == "GET":
        return _account_page()
    form = PasswordForm()
    if form.validate_on_submit():
        me = current_user._get_current_object()
        if not accounts.password_matches(me, cast(str, form.current.data)):
            form.current.errors = [*form.current.errors, "That is not your current password."]
        else:
            try:
                token = accounts.change_password(db.session(), me, cast(str, form.new.data))
            except ValidationFailed as exc:
                form.new.errors = [*form.new.errors, *exc.fields.get("new", [exc.message])]
            else:
                db.session.commit()
                session[SESSION_KEY] = token
                flash("Your password is changed; you are logged out everywhere else.")
                return redirect(url_for("admin.queue"), 303)
    return _account_page(password_form=form, status=400)


@bp.post("/display-name")
def display_name() -> ResponseReturnValue:
    """Change the name one's public replies are signed with."""
    form = DisplayNameForm()
    if form.validate_on_submit():
        me = current_user._get_current_object()
        try:
            name = accounts.set_display_name(db.session(), me, form.display_name.data)
        except ValidationFailed as exc:
            form.display_name.errors = [
                *form.display_name.errors,
                *exc.fields.get("display_name", [exc.message]),
            ]
        else:
            db.session.commit()
            flash(f"Your replies are signed {name or me.name}.")
            return redirect(url_for("admin.password"), 303)
    return _account_page(name_form=form, status=400)
