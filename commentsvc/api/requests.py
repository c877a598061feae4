"""Parsing API requests: JSON object bodies and the reader's own tokens."""

from __future__ import annotations

from typing import Any

from flask import g, request
from flask_babel import gettext

from .. import sites
from ..config import Settings, current_settings
from ..errors import ServiceError, UnknownSite, UnsupportedMediaType
from ..tokens import own_comment_ids
from ..transactions import read_with_retry


def json_object() -> dict[str, Any]:
    """The request body as a JSON object, or a clear 415/400."""
    if request.mimetype != "application/json":
        raise UnsupportedMediaType(
            gettext("Send the body as JSON (Content-Type: application/json).")
        )
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
    return own_comment_ids(current_settings().secret_key, raw.split(","))


def site() -> str:
    """The site a request is for (`?site=`, default "default"); 400 for one not served."""
    return site_config().site or sites.DEFAULT_SITE


def site_config() -> Settings:
    """The settings of the site the request is for: its own, then the install's. Read once
    per request."""
    if "site_config" not in g:
        name = request.args.get("site", sites.DEFAULT_SITE)
        g.site_config = sites.cached_settings(current_settings(), name, read_with_retry)
    settings: Settings = g.site_config
    return settings


def site_config_or_none() -> Settings | None:
    """The same, or None for a site not served (for answers that must not fail again)."""
    try:
        return site_config()
    except UnknownSite:
        return None
