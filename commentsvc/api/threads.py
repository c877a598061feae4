"""Reading: a thread's comment tree, and comment counts for many threads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from flask import Response, jsonify, request
from flask_babel import gettext
from sqlalchemy.engine import Engine

from ..config import Settings
from ..errors import ValidationFailed
from ..httpcache import Body, conditional, public_cache_control
from ..ratelimit import form_tokens_per_address
from ..sites import DEFAULT_SITE
from ..threads import SORTS, count_by_uri, thread_json
from ..tokens import issue_form_token
from ..transactions import read_with_retry
from ..validation import uri_problem, uri_problems
from . import bp
from .requests import json_object, reader_own_ids, site, site_config

MAX_LIMIT = 1000
MAX_COUNT_URIS = 100


THREAD_VARY = ("X-Edit-Tokens",)


def _int_arg(args: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed({name: [gettext("Must be a whole number.")]}) from None
    if not low <= value <= high:
        raise ValidationFailed(
            {name: [gettext("Must be between %(low)d and %(high)d.", low=low, high=high)]}
        )
    return value


def thread_options(args: Mapping[str, str], settings: Settings) -> dict[str, Any]:
    """thread_json's arguments for a thread's page as the query asks for it (uri, order,
    length, cursor) on the site of these settings; 400 for a bad one."""
    uri = args.get("uri", "")
    if problem := uri_problem(uri, settings.allowed_origins):
        raise ValidationFailed({"uri": [problem]})
    sort = args.get("sort", "oldest")
    if sort not in SORTS:
        raise ValidationFailed(
            {"sort": [gettext("Must be one of: %(choices)s.", choices=", ".join(SORTS))]}
        )
    return {
        "site": settings.site or DEFAULT_SITE,
        "uri": uri,
        "sort": sort,
        "limit": _int_arg(args, "limit", 50, 1, MAX_LIMIT),
        "after": args.get("after"),
        "extra": {
            "edit_window": settings.edit_window,
            "min_submit_seconds": settings.min_submit_seconds,
        },
    }


@bp.get("/threads")
def get_thread() -> Response:
    """The approved comments of one thread, nested, with a form token for the next post."""
    options = thread_options(request.args, site_config())
    options["own_ids"] = reader_own_ids()
    # A plain read on a connection: no ORM session to set up and tear down.
    body, public = read_with_retry(lambda conn: thread_json(conn, **options))
    # The reader's own held comments are for them alone, kept by no one; and since a request
    # with edit tokens may see more than the public page, caches must tell the two apart.
    return conditional(
        body,
        "application/json",
        public_cache_control() if public else "private, no-store",
        vary=THREAD_VARY,
    )


@bp.get("/form-token")
@form_tokens_per_address
def get_form_token() -> Response:
    """A form token for the next post to a thread (each works once), and how old it must be
    before it is used."""
    uri = request.args.get("uri", "")
    settings = site_config()
    if problem := uri_problem(uri, settings.allowed_origins):
        raise ValidationFailed({"uri": [problem]})
    response = jsonify(
        {
            "uri": uri,
            "form_token": issue_form_token(settings.secret_key, site(), uri),
            "min_submit_seconds": settings.min_submit_seconds,
        }
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def counts_body(uris: list[Any], settings: Settings, engine: Engine | None = None) -> Body:
    """The counts of these uris on the site of these settings, as a JSON body; 400 for too
    many uris or a bad one."""
    if len(uris) > MAX_COUNT_URIS:
        raise ValidationFailed(
            {"uris": [gettext("At most %(max)d uris per request.", max=MAX_COUNT_URIS)]}
        )
    if problems := uri_problems(uris, settings.allowed_origins):
        raise ValidationFailed({"uris": problems})
    thread_site = settings.site or DEFAULT_SITE
    counts = read_with_retry(lambda conn: count_by_uri(conn, thread_site, uris), engine)
    return Body(orjson.dumps({"counts": counts}))


def posted_uris(body: Any) -> list[Any]:
    """The uris a POST /api/counts body lists; 400 for a body without that list."""
    uris = body.get("uris")
    if not isinstance(uris, list):
        raise ValidationFailed({"uris": [gettext("Must be a list of uris.")]})
    return uris


@bp.get("/counts")
def get_counts() -> Response:
    """Approved comment counts for the uri parameters given."""
    body = counts_body(request.args.getlist("uri"), site_config())
    return conditional(body, "application/json", public_cache_control())


@bp.post("/counts")
def post_counts() -> Response:
    """Approved comment counts for a JSON list of uris (for pages with many links)."""
    body = counts_body(posted_uris(json_object()), site_config())
    # Nobody keeps an answer to a POST; a page that wants its counts cached uses GET.
    return conditional(body, "application/json", "no-store")
