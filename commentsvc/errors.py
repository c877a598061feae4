"""Errors the domain raises; the API turns each into the one JSON error shape.

Messages are built in the reader's language when raised (gettext at the call, never in a
module-level constant); codes never change.
"""

from __future__ import annotations

from flask_babel import gettext


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

    def __init__(self, fields: dict[str, list[str]], message: str | None = None):
        super().__init__(message or gettext("Please correct the marked fields."), fields)


class ThreadClosed(ServiceError):
    status = 403
    code = "closed"

    def __init__(self, message: str | None = None):
        super().__init__(message or gettext("This thread is closed to new comments."))


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class TokenExpired(ServiceError):
    status = 403
    code = "token_expired"

    def __init__(self, message: str | None = None):
        super().__init__(message or gettext("The time to edit this comment has passed."))


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class BadImportFile(Exception):
    """An import file that cannot be read as the format named; the message is one line."""


class BadSetting(ValueError):
    """A setting's value that cannot be used; the message names the variable, the value given
    and what is allowed, in one line."""
