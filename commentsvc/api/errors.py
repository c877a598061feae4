"""The one error shape of the API: {"error": {"code", "message", "fields"?}}."""

from __future__ import annotations

import math
import time

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from ..errors import ServiceError
from ..extensions import limiter

HTTP_CODES = {
    400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    413: "too_large", 415: "unsupported_media_type", 429: "rate_limited",
}
HTTP_MESSAGES = {
    404: "Not found.",
    413: "The request body is too large.",
    429: "Too many requests; please wait before trying again.",
}


def error_response(status: int, code: str, message: str, fields: dict | None = None, **extra):
    error = {"code": code, "message": message, **extra}
    if fields:
        error["fields"] = fields
    response = jsonify({"error": error})
    response.status_code = status
    return response


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError):
        return error_response(exc.status, exc.code, exc.message, exc.fields)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if not wants_json():
            return exc
        status = exc.code or 500
        code = HTTP_CODES.get(status, "error")
        message = HTTP_MESSAGES.get(status) or exc.description or exc.name
        if status == 429:
            wait = _seconds_until_reset()
            response = error_response(status, code, message, retry_after=wait)
            response.headers["Retry-After"] = str(wait)
            return response
        response = error_response(status, code, message)
        if status == 405 and getattr(exc, "valid_methods", None):
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response


def _seconds_until_reset() -> int:
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, math.ceil(current.reset_at - time.time()))
