"""The one error shape of the API: {"error": {"code", "message", "fields"?}}."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext
from werkzeug.exceptions import (
    BadRequest,
    HTTPException,
    InternalServerError,
    MethodNotAllowed,
    UnsupportedMediaType,
)

from ..errors import ServiceError
from ..extensions import limiter
from ..http_errors import status_of

HTTP_CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}
# Lazy, here and below: each is put in the reader's language when an error is answered.
HTTP_MESSAGES = {
    404: lazy_gettext("Not found."),
    413: lazy_gettext("The request body is too large."),
    429: lazy_gettext("Too many requests; please wait before trying again."),
}
# Werkzeug's own descriptions of the other errors, in the reader's language (a description a
# view gave itself is kept as it is).
WERKZEUG_MESSAGES: dict[str | None, Any] = {
    BadRequest.description: lazy_gettext(
        "The browser (or proxy) sent a request that this server could not understand."
    ),
    MethodNotAllowed.description: lazy_gettext("The method is not allowed for the requested URL."),
    UnsupportedMediaType.description: lazy_gettext(
        "The server does not support the media type transmitted in the request."
    ),
    InternalServerError.description: lazy_gettext(
        "The server encountered an internal error and was unable to complete your request. "
        "Either the server is overloaded or there is an error in the application."
    ),
}


def error_response(
    status: int,
    code: str,
    message: str,
    fields: Mapping[str, Iterable[object]] | None = None,
    **extra: Any,
) -> Response:
    error = {"code": code, "message": str(message), **extra}
    if fields:
        error["fields"] = {
            name: [str(reason) for reason in reasons] for name, reasons in fields.items()
        }
    response = jsonify({"error": error})
    response.status_code = status
    return response


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError) -> ResponseReturnValue:
        return error_response(status_of(exc), exc.code, exc.message, exc.fields)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        if not wants_json():
            return exc
        status = exc.code or 500
        code = HTTP_CODES.get(status, "error")
        message = (
            HTTP_MESSAGES.get(status)
            or WERKZEUG_MESSAGES.get(exc.description)
            or exc.description
            or exc.name
        )
        if status == 429:
            wait = _seconds_until_reset()
            response = error_response(status, code, message, retry_after=wait)
            response.headers["Retry-After"] = str(wait)
            return response
        response = error_response(status, code, message)
        if status == 405 and (valid_methods := getattr(exc, "valid_methods", None)):
            response.headers["Allow"] = ", ".join(valid_methods)
        return response


def _seconds_until_reset() -> int:
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, math.ceil(current.reset_at - time.time()))
