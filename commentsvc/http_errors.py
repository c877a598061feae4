"""The HTTP status each of the domain's errors is answered with, wherever it is answered: as
the API's JSON error (api/errors.py), on the no-JS thread page, on a mail link's page or in the
admin pages. The domain raises errors by kind and never names a status."""

from __future__ import annotations

from .errors import (
    Forbidden,
    LinkGone,
    LinkNotYours,
    LinkRefused,
    NotFound,
    ServiceError,
    ThreadClosed,
    TokenExpired,
    UnknownSite,
    UnsupportedMediaType,
    ValidationFailed,
)

STATUS: dict[type[ServiceError], int] = {
    ServiceError: 400,
    ValidationFailed: 400,
    UnknownSite: 400,
    UnsupportedMediaType: 415,
    ThreadClosed: 403,
    Forbidden: 403,  # and Refused, NotVotable
    TokenExpired: 403,
    NotFound: 404,
    LinkRefused: 400,
    LinkGone: 410,
    LinkNotYours: 403,
}


def status_of(error: ServiceError) -> int:
    """The status of the error's own class, or of its nearest ancestor in STATUS."""
    for kind in type(error).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 400  # unreachable: ServiceError is in STATUS
