"""Parsing API requests: JSON object bodies and the reader's own tokens."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask_babel import gettext

from ..comments import DEFAULT_SITE
from ..errors import ServiceError
from ..tokens import own_comment_ids


class UnsupportedMediaType(ServiceError):
    status = 415
    code = "unsupported_media_type"


def json_object() -> dict[str, Any]:
    """The request body as a JSON object, or a clear 415/400."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType(
            gettext("Send the body as JSON (Content-Type: application/json)."))
    body = request.get_json(silent=True)
    if body is None:
        raise ServiceError(gettext("The body is not valid JSON."))
    if not isinstance(body, dict):
        raise ServiceError(gettext("The body must be a JSON object."))
    return body


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def reader_own_ids() -> set[int]:
    raw = request.headers.get("X-Edit-Tokens", "")
    if not raw:
        return set()
    return own_comment_ids(current_app.config["SECRET_KEY"], raw.split(","))


def site() -> str:
    """The site a request is for; one install serves one site for now."""
    value = request.args.get("site", DEFAULT_SITE)
    if value != DEFAULT_SITE:
        raise ServiceError(gettext("Unknown site."), {"site": [gettext("Unknown site.")]})
    return value
