"""The moderators' pages: login, the queue, threads, bans, words, accounts, audit, import."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar
from urllib.parse import unquote

from flask import (
    Blueprint,
    Response,
    abort,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import Select, SQLColumnExpression
from werkzeug.exceptions import HTTPException

from .. import sites
from ..accounts import SessionPolicy, session_moderator
from ..config import current_settings
from ..errors import ServiceError
from ..extensions import db, login_manager
from ..http_errors import status_of
from ..models import Moderator, Thread

bp = Blueprint("admin", __name__, url_prefix="/admin")

P = ParamSpec("P")
R = TypeVar("R")
Query = TypeVar("Query", bound=Select[*tuple[Any, ...]])

PUBLIC_VIEWS = {"admin.login"}
SESSION_KEY = "admin_session"  # the token of the server-side session, in Flask's cookie

login_manager.login_view = "admin.login"
login_manager.login_message = "Please log in to moderate comments."
login_manager.session_protection = "strong"


@login_manager.user_loader  # type: ignore[untyped-decorator]  # Flask-Login has no types
def load_moderator(user_id: str) -> Moderator | None:
    """The moderator only while the cookie's session is live on the server."""
    policy = SessionPolicy.from_settings(current_settings())
    moderator, touched = session_moderator(db.session(), user_id, session.get(SESSION_KEY), policy)
    if touched:
        db.session.commit()
    return moderator


@bp.before_request
def require_login() -> ResponseReturnValue | None:
    """No page or action without a logged-in moderator."""
    if request.endpoint not in PUBLIC_VIEWS and not current_user.is_authenticated:
        unauthorized: ResponseReturnValue = login_manager.unauthorized()
        return unauthorized
    return None


@bp.after_request
def no_caching(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_template_global()
def thread_link(thread: Thread) -> str:
    """Where a thread's post is read: on the blog when its origin is known, else our own page."""
    site = sites.get(db.session(), thread.site)
    settings = sites.settings(current_settings(), site) if site else current_settings()
    origins = settings.allowed_origins
    if origins and thread.uri.startswith("/"):
        return origins[0] + thread.uri
    site_arg: dict[str, Any] = {"site": thread.site} if thread.site != sites.DEFAULT_SITE else {}
    return url_for("widget.thread_page", uri=thread.uri, **site_arg)


# --- which sites a moderator sees ------------------------------------------------------------


def my_sites() -> list[str] | None:
    """The sites the logged-in moderator acts on; None for an admin (all of them)."""
    if "my_sites" not in g:
        g.my_sites = sites.moderator_sites(db.session(), current_user._get_current_object())
    mine: list[str] | None = g.my_sites
    return mine


@bp.app_template_global()
def visible_sites() -> list[str]:
    mine = my_sites()
    return sites.names(db.session()) if mine is None else mine


def chosen_site() -> str | None:
    """The site picked with the site switcher (`?site=`), if the moderator may see it."""
    wanted = request.args.get("site") or None
    if wanted is not None and wanted not in visible_sites():
        abort(403)
    return wanted


def shown_sites() -> list[str] | None:
    """The sites a list shows: the one picked in the switcher, else the moderator's (None: an
    admin's every site)."""
    picked = chosen_site()
    return my_sites() if picked is None else [picked]


def only_my_sites(query: Query, column: SQLColumnExpression[str] = Thread.site) -> Query:
    """A query narrowed to the moderator's sites, and to the one picked in the switcher."""
    mine, picked = my_sites(), chosen_site()
    if picked is not None:
        return query.where(column == picked)
    return query if mine is None else query.where(column.in_(mine))


def require_site(site: str) -> None:
    """403 for a comment, thread or rule of a site the moderator does not moderate."""
    mine = my_sites()
    if mine is not None and site not in mine:
        abort(403)


def admin_required(view: Callable[P, R]) -> Callable[P, R]:
    """Only for admins: managing moderators, blocked words, the audit log."""

    @wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


# A path of our own pages: "/admin", then "/segment"s and a query of URL characters only
# (no spaces, controls, backslashes, fragments or anything outside ASCII).
_ADMIN_PATH = re.compile(
    r"/admin(?:/[\w\-.~!$&'()*+,;=:@%]*)*(?:\?[\w\-.~!$&'()*+,;=:@%/?]*)?", re.ASCII
)


def is_admin_path(target: str) -> bool:
    """Whether a `next` value is a plain path under /admin, safe to redirect to."""
    if not _ADMIN_PATH.fullmatch(target):
        return False
    path = unquote(target.partition("?")[0])  # what a browser makes of %2e%2e and the like
    if "\\" in path or any(unicodedata.category(ch).startswith("C") for ch in path):
        return False
    segments = path.split("/")[2:]
    return all(s not in (".", "..") for s in segments) and "" not in segments[:-1]


def back(default: str = "admin.queue") -> ResponseReturnValue:
    """Redirect to the page the form came from, if it is one of ours."""
    target = request.form.get("next") or request.args.get("next") or ""
    if is_admin_path(target):
        return redirect(target, 303)
    return redirect(url_for(default), 303)


# The admin's error pages, by status: a title and what to do. A 400's own description (a form's
# or a CSRF refusal's) is shown instead of the generic one; server errors keep Flask's page.
ERROR_PAGES = {
    400: ("Bad request", "The request could not be understood."),
    403: ("Not allowed", "Your role does not allow this."),
    404: ("Not found", "There is nothing here."),
    405: ("Not allowed", "This page does not take that kind of request."),
    413: ("Too large", "What was sent is too large."),
    429: ("Too many attempts", "Too many attempts. Please wait a minute and try again."),
}


def error_page(status: int, message: str | None = None) -> ResponseReturnValue:
    title, default = ERROR_PAGES.get(status, ("Error", "The request could not be completed."))
    return render_template("admin/error.html", title=title, message=message or default), status


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> ResponseReturnValue:
    status = exc.code or 500
    if status >= 500:
        return exc
    return error_page(status, exc.description if status in (400, 413) else None)


@bp.errorhandler(ServiceError)
def service_error(exc: ServiceError) -> ResponseReturnValue:
    """A refusal of the domain that a view did not show on its own form."""
    return error_page(status_of(exc), exc.message)


from . import (  # noqa: E402,F401  (views register on bp)
    accounts,
    auth,
    imports,
    queue,
    rules,
    spam_filter,
    threads,
)
