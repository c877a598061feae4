"""Cross-origin rules: only the configured blog origins may read and write through the API."""

from __future__ import annotations

from flask import Response, current_app, request
from flask_babel import gettext

from ..config import Settings, current_settings
from ..errors import Forbidden
from ..httpcache import add_vary
from . import bp
from .requests import site_config_or_none

ALLOWED_HEADERS = "Content-Type, Authorization, X-Edit-Tokens"
ALLOWED_METHODS = "GET, POST, PATCH, DELETE, OPTIONS"
PREFLIGHT_MAX_AGE = "86400"
EXPOSED_HEADERS = "Retry-After"  # how long a reader is asked to wait


_warned: set[str] = set()  # origins this process has told the owner about
WARNED_MAX = 1000


def listed_origin(origin: str, settings: Settings) -> bool:
    """Whether an origin is the service's public address or one of the site's own."""
    return origin == settings.public_url or origin in settings.allowed_origins


def origin_allowed(origin: str) -> bool:
    """The service's own origin, or one of the origins of the site the request is for."""
    own = request.host_url.rstrip("/")
    settings = site_config_or_none() or current_settings()
    allowed = origin == own or listed_origin(origin, settings)
    if not allowed:
        _warn_once(origin)
    return allowed


def _warn_once(origin: str) -> None:
    """Tell the site owner, once per origin and process, why a page's widget gets nothing: the
    first embed on a new blog usually meets this before anything else."""
    if origin in _warned or len(_warned) >= WARNED_MAX:
        return
    _warned.add(origin)
    current_app.logger.warning(
        "refused a browser request from origin %r: it is not in COMMENTSVC_ALLOWED_ORIGINS; "
        "add it there to let that site's pages show and post comments",
        origin[:200],
    )


@bp.before_request
def refuse_foreign_writes() -> Response | None:
    """Browsers send Origin on cross-origin writes; a write from an unlisted origin is refused."""
    origin = request.headers.get("Origin")
    if request.method == "OPTIONS":
        response = current_app.make_default_options_response()
        response.status_code = 204
        return response
    if origin and request.method != "GET" and not origin_allowed(origin):
        raise Forbidden(gettext("This site is not allowed to post comments here."))
    return None


@bp.after_request
def add_cors_headers(response: Response) -> Response:
    origin = request.headers.get("Origin")
    add_vary(response, "Origin")
    if origin and origin_allowed(origin):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
    return response
