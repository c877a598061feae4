"""HTML pages for readers: the thread without JavaScript, and the demo blog."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_wtf.csrf import CSRFError

from commentsvc import sites
from commentsvc.comments import DEFAULT_SITE, post_comment
from commentsvc.errors import ServiceError, UnknownSite, ValidationFailed
from commentsvc.extensions import db, limiter
from commentsvc.health import package_version
from commentsvc.http_errors import status_of
from commentsvc.i18n import current_language, requested_language
from commentsvc.models import Status
from commentsvc.ratelimit import (
    form_tokens_per_address,
    new_comments_per_address,
    new_comments_per_thread,
)
from commentsvc.threads import BodyCache, ThreadVersion, thread_tree, thread_version
from commentsvc.tokens import issue_form_token
from commentsvc.transactions import commit_write, read_with_retry
from commentsvc.validation import uri_problem
from commentsvc.widget import bp
from commentsvc.widget.display import NESTING_DEPTH, count_label

from ..config import current_settings

DEMO_URI = "/2008/01/persistence-pays-off.html"
FORM_FIELDS = ("author", "email", "website", "text")
PAGE_SIZE = 100  # comments on one page, replies included
ALL_ROOTS = 1_000_000  # the page is cut by comments, not by top-level entries

_views = BodyCache(max_bytes=6 * 1024 * 1024)  # laid-out threads and their rendered pages


@dataclass
class Entry:
    """A comment as shown on the page: its data, the comment a flattened reply answers (named
    on the page as "in reply to ..."), its replies. No words of any language: the layout is
    cached for every reader."""

    comment: dict[str, Any]
    in_reply_to: dict[str, Any] | None = None
    replies: list[Entry] = field(default_factory=list)


def display_name(comment: dict[str, Any]) -> str:
    if comment["status"] == "deleted":
        return str(gettext("a deleted comment"))
    name: str = comment["author"] or gettext("Anonymous")
    return name


def layout(
    comments: list[dict[str, Any]], depth: int = 0, in_reply_to: dict[str, Any] | None = None
) -> list[Entry]:
    """Nest replies up to NESTING_DEPTH; deeper ones follow their parent, marked "in reply to"."""
    entries = []
    for comment in comments:
        entry = Entry(comment, in_reply_to)
        entries.append(entry)
        if depth < NESTING_DEPTH - 1:
            entry.replies = layout(comment["replies"], depth + 1)
        else:
            entries.extend(layout(comment["replies"], depth, comment))
    return entries


def lang_arg() -> str | None:
    """The ?lang= a page was asked with, for its links and form to keep; None when its language
    came from the browser (then the links leave it to the browser too)."""
    explicit = requested_language()
    return explicit.tag if explicit else None


def site_arg() -> str | None:
    """The ?site= a page is for, for its links and form to keep; None for the default site."""
    name = request.values.get("site") or DEFAULT_SITE
    return None if name == DEFAULT_SITE else name


def page(template: str, status: int = 200, **context: Any) -> Response:
    """Render one of our HTML pages (CSP and the other common headers: security.py)."""
    context.setdefault("site_arg", site_arg())
    response = current_app.make_response((render_template(template, **context), status))
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _form_data(form: Mapping[str, str]) -> dict[str, Any]:
    """The JSON body post_comment expects, built from the HTML form."""
    data: dict[str, Any] = {name: form.get(name, "") for name in FORM_FIELDS}
    data.update(
        uri=form.get("uri", ""),
        title=form.get("title") or None,
        form_token=form.get("form_token", ""),
        hp=form.get("hp", ""),
        notify=form.get("notify") == "on",
    )
    parent = form.get("parent_id", "").strip()
    # A number becomes an int; anything else is handed on so the validator names the problem.
    data["parent_id"] = int(parent) if parent.isdecimal() and len(parent) < 19 else (parent or None)
    return data


def reading_order(entries: list[Entry]) -> list[tuple[Entry, Entry | None]]:
    """Every entry as a reader meets it, with the entry it is nested under (None at the top)."""
    flat: list[tuple[Entry, Entry | None]] = []
    stack: list[tuple[Entry, Entry | None]] = [(entry, None) for entry in reversed(entries)]
    while stack:
        entry, parent = stack.pop()
        flat.append((entry, parent))
        stack.extend((reply, entry) for reply in reversed(entry.replies))
    return flat


def paginate(flat: list[tuple[Entry, Entry | None]], page: int, size: int) -> list[Entry]:
    """Page `page` of `size` comments, replies counted like any other: a reply whose parent is
    on an earlier page starts this one, marked "in reply to"."""
    copies: dict[int, Entry] = {}
    roots: list[Entry] = []
    for entry, parent in flat[(page - 1) * size : page * size]:
        copy = copies[id(entry)] = Entry(entry.comment, entry.in_reply_to)
        if parent is not None and id(parent) in copies:
            copies[id(parent)].replies.append(copy)
        else:
            if parent is not None and copy.in_reply_to is None:
                copy.in_reply_to = parent.comment
            roots.append(copy)
    return roots


def _replyable(entries: list[Entry]) -> dict[int, str]:
    """Names of the comments on a page that can be answered, by id."""
    names, stack = {}, list(entries)
    while stack:
        entry = stack.pop()
        if entry.comment["status"] != "deleted":
            names[entry.comment["id"]] = display_name(entry.comment)
        stack.extend(entry.replies)
    return names


def _cache_key(
    uri: str, version: ThreadVersion
) -> tuple[tuple[int, str], tuple[int, bool, str | None]]:
    """The thread and the version its cached pages are kept under (see thread_version); the
    thread's id tells sites apart."""
    ident, number, closed, title = version
    return (ident, uri), (number, closed, title)


def _layout_size(flat: list[tuple[Entry, Entry | None]]) -> int:
    # What a laid-out comment takes in memory: its HTML, and about 1.2 KB of dictionary, other
    # strings and Entry around it (measured with tracemalloc).
    return sum(len(entry.comment["html"]) + 1280 for entry, _ in flat)


def _laid_out(uri: str, version: ThreadVersion | None, site: str = DEFAULT_SITE) -> dict[str, Any]:
    """The whole thread in reading order, how many pages it makes and each comment's page:
    read and laid out once per version, so that no page number, past the end or not, and no
    comment to show costs another read of the thread."""
    if version is not None and (cached := _views.get(*_cache_key(uri, version), "layout")):
        return cast("dict[str, Any]", cached)  # the cache holds Any
    tree = thread_tree(db.session(), site=site, uri=uri, limit=ALL_ROOTS)
    flat = reading_order(layout(tree["comments"]))
    laid = {
        "flat": flat,
        "pages": max(1, math.ceil(len(flat) / PAGE_SIZE)),
        "page_of": {entry.comment["id"]: n // PAGE_SIZE + 1 for n, (entry, _) in enumerate(flat)},
        "count": tree["count"],
        "title": tree["title"],
        "closed": tree["closed"],
    }
    if version is not None:
        _views.put(*_cache_key(uri, version), "layout", laid, size=_layout_size(flat))
    return laid


def thread_view(
    uri: str, page: int = 1, show: int | None = None, site: str = DEFAULT_SITE
) -> dict[str, Any]:
    """The public part of a thread page: its rendered comments and what the form needs,
    cached per process under the thread's version (and the page's language) like the API's
    pages. `show` asks for the page on which that comment is (the first when it is not shown)."""
    version = thread_version(db.session(), site=site, uri=uri)
    laid = _laid_out(uri, version, site)
    if show is not None:
        page = laid["page_of"].get(show, 1)
    page = min(max(page, 1), laid["pages"])
    detail = ("page", page, current_language().tag, lang_arg(), site_arg())
    if version is not None and (cached := _views.get(*_cache_key(uri, version), detail)):
        return cast("dict[str, Any]", cached)  # the cache holds Any
    shown = paginate(laid["flat"], page, PAGE_SIZE)
    count = count_label(laid["count"], current_language().tag)
    html = render_template(
        "widget/_thread_comments.html",
        uri=uri,
        entries=shown,
        page=page,
        pages=laid["pages"],
        closed=laid["closed"],
        count_label=count,
        display_name=display_name,
        lang_arg=lang_arg(),
        site_arg=site_arg(),
    )
    view = {
        "html": html,
        "count_label": count,
        "title": laid["title"],
        "closed": laid["closed"],
        "page": page,
        "pages": laid["pages"],
        "names": _replyable(shown),
    }
    if version is not None:
        _views.put(*_cache_key(uri, version), detail, view, size=len(html))
    return view


def _page_arg() -> int:
    raw = request.args.get("page", "")
    return int(raw) if raw.isdecimal() and len(raw) < 7 else 1


def _render_thread(
    uri: str,
    site: str,
    *,
    status: int = 200,
    errors: dict[str, list[str]] | None = None,
    values: dict[str, Any] | None = None,
    message: str | None = None,
) -> Response:
    reply_to = request.args.get("reply", type=int)
    if values and isinstance(values.get("parent_id"), int):
        reply_to = values["parent_id"]
    show = request.args.get("show", type=int)
    if reply_to and values:  # a refused reply: back to the page of the comment it answers
        show = reply_to
    view = thread_view(uri, _page_arg(), show, site)
    if reply_to and reply_to not in view["names"] and not show:
        view = thread_view(uri, show=reply_to, site=site)  # the comment is on another page
    parent = (
        {"id": reply_to, "name": view["names"][reply_to]} if reply_to in view["names"] else None
    )
    response = page(
        "widget/thread.html",
        status,
        uri=uri,
        view=view,
        parent=parent,
        errors=errors or {},
        values=values or {},
        message=message,
        lang_arg=lang_arg(),
        form_token=issue_form_token(current_settings().secret_key, site, uri),
    )
    # The form carries this visitor's CSRF and form tokens: never keep it in a shared cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/comments", methods=["GET", "POST"])
@new_comments_per_address
@new_comments_per_thread
@form_tokens_per_address
def thread_page() -> ResponseReturnValue:
    """The thread as a plain HTML page with a plain form, for readers without JavaScript."""
    uri = (request.form.get("uri") if request.method == "POST" else request.args.get("uri")) or ""
    site = site_arg() or DEFAULT_SITE
    try:
        settings = sites.cached_settings(current_settings(), site, read_with_retry)
    except UnknownSite:
        return page("widget/no_thread.html", 400)
    if uri_problem(uri, settings.allowed_origins):  # the API's own check
        return page("widget/no_thread.html", 400)
    if request.method == "GET":
        return _render_thread(uri, site)

    data = _form_data(request.form)
    lang = current_language().tag  # the page's: its mails will speak the same
    try:
        result = commit_write(
            lambda: post_comment(
                db.session(),
                current_settings(),
                data=data,
                remote_addr=request.remote_addr,
                lang=lang,
                site=site,
            )
        )
    except ValidationFailed as exc:
        return _render_thread(
            uri, site, status=400, errors=exc.fields, values=data, message=exc.message
        )
    except ServiceError as exc:
        return _render_thread(uri, site, status=status_of(exc), values=data, message=exc.message)

    target = url_for("widget.thread_page", uri=uri, lang=lang_arg(), site=site_arg())
    if result.public_status == Status.approved:
        flash(gettext("Thank you. Your comment is published."))
        target = url_for(
            "widget.thread_page", uri=uri, show=result.comment.id, lang=lang_arg(), site=site_arg()
        )
        target += f"#comment-{result.comment.id}"
    else:
        flash(
            gettext("Thank you. Your comment is awaiting moderation and will appear once approved.")
        )
        target += "#comment-form"
    return redirect(target, 303)


@bp.errorhandler(CSRFError)
def csrf_refused(exc: CSRFError) -> Response:
    """A form sent without a valid CSRF token (an old page, or a forged post)."""
    return page(
        "widget/refused.html",
        400,
        uri=request.form.get("uri", ""),
        lang_arg=lang_arg(),
        reason=gettext("The form was too old or did not come from this site."),
    )


@bp.errorhandler(429)
def too_many_posts(exc: Exception) -> Response:
    """The no-JS form posted, or its page (which carries a form token) asked for, too often
    from one address."""
    if request.method == "POST":
        uri = request.form.get("uri", "")
        reason = gettext("You are posting too quickly. Please wait a minute and try again.")
    else:
        uri = request.args.get("uri", "")
        reason = gettext("Too many requests; please wait before trying again.")
    response = page("widget/refused.html", 429, uri=uri, lang_arg=lang_arg(), reason=reason)
    current = limiter.current_limit
    wait = max(1, math.ceil(current.reset_at - time.time())) if current else 60
    response.headers["Retry-After"] = str(wait)
    return response


@bp.get("/")
def home() -> Response:
    """What this server is, with the way to the demo, the moderators' pages and the API."""
    return page("widget/home.html", version=package_version())


@bp.get("/demo")
def demo() -> Response:
    """A 2008 blog post with the widget under it: the service's own example page."""
    return page("widget/demo.html", demo_uri=DEMO_URI)


@bp.get("/demo/posts")
def demo_posts() -> Response:
    """The demo blog's index page, with comment counts filled in by count.js."""
    return page("widget/demo_posts.html", demo_uri=DEMO_URI)
