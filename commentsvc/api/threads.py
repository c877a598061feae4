"""Reading: a thread's comment tree, and comment counts for many threads."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response, jsonify, request
from flask_babel import gettext

from ..errors import ValidationFailed
from ..httpcache import Body, conditional, public_cache_control
from ..ratelimit import form_tokens_per_address
from ..threads import SORTS, count_by_uri, thread_json
from ..tokens import issue_form_token
from ..transactions import read_with_retry
from ..validation import uri_problem
from . import bp
from .requests import json_object, reader_own_ids, site, site_config

MAX_LIMIT = 1000
MAX_COUNT_URIS = 100


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
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


@bp.get("/threads")
def get_thread() -> Response:
    """The approved comments of one thread, nested, with a form token for the next post."""
    uri = request.args.get("uri", "")
    settings = site_config()
    if problem := uri_problem(uri, settings.allowed_origins):
        raise ValidationFailed({"uri": [problem]})
    sort = request.args.get("sort", "oldest")
    if sort not in SORTS:
        raise ValidationFailed(
            {"sort": [gettext("Must be one of: %(choices)s.", choices=", ".join(SORTS))]}
        )
    thread_site = site()
    options: dict[str, Any]
    options = {
        "site": thread_site,
        "uri": uri,
        "own_ids": reader_own_ids(),
        "sort": sort,
        "limit": _int_arg("limit", 50, 1, MAX_LIMIT),
        "after": request.args.get("after"),
    }
    options["extra"] = {
        "edit_window": settings.edit_window,
        "min_submit_seconds": settings.min_submit_seconds,
    }
    # A plain read on a connection: no ORM session to set up and tear down.
    body, public = read_with_retry(lambda conn: thread_json(conn, **options))
    # The reader's own held comments are for them alone, kept by no one; and since a request
    # with edit tokens may see more than the public page, caches must tell the two apart.
    return conditional(
        body,
        "application/json",
        public_cache_control() if public else "private, no-store",
        vary=("X-Edit-Tokens",),
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


def _counts_response(uris: list[Any], cache_control: str) -> Response:
    if len(uris) > MAX_COUNT_URIS:
        raise ValidationFailed(
            {"uris": [gettext("At most %(max)d uris per request.", max=MAX_COUNT_URIS)]}
        )
    origins = site_config().allowed_origins
    problems = {problem for u in uris if (problem := uri_problem(u, origins))}
    if problems:
        raise ValidationFailed({"uris": sorted(problems)})
    thread_site = site()
    counts = read_with_retry(lambda conn: count_by_uri(conn, thread_site, uris))
    return conditional(Body(orjson.dumps({"counts": counts})), "application/json", cache_control)


@bp.get("/counts")
def get_counts() -> Response:
    """Approved comment counts for the uri parameters given."""
    return _counts_response(request.args.getlist("uri"), public_cache_control())


@bp.post("/counts")
def post_counts() -> Response:
    """Approved comment counts for a JSON list of uris (for pages with many links)."""
    uris = json_object().get("uris")
    if not isinstance(uris, list):
        raise ValidationFailed({"uris": [gettext("Must be a list of uris.")]})
    # Nobody keeps an answer to a POST; a page that wants its counts cached uses GET.
    return _counts_response(uris, "no-store")
