"""Errors the domain raises; the API turns each into the one JSON error shape."""

from __future__ import annotations


class ServiceError(Exception):
    """A refusal a reader can understand, with its HTTP status and machine-readable code."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class ValidationFailed(ServiceError):
    status = 400
    code = "validation"

    def __init__(self, fields: dict[str, list[str]],
                 message: str = "Please correct the marked fields."):
        super().__init__(message, fields)


class ThreadClosed(ServiceError):
    status = 403
    code = "closed"

    def __init__(self, message: str = "This thread is closed to new comments."):
        super().__init__(message)


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class TokenExpired(ServiceError):
    status = 403
    code = "token_expired"

    def __init__(self, message: str = "The time to edit this comment has passed."):
        super().__init__(message)


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class BadImportFile(Exception):
    """An import file that cannot be read as the format named; the message is one line."""


class BadSetting(ValueError):
    """A setting's value that cannot be used; the message names the variable, the value given
    and what is allowed, in one line."""
