"""Every error the service raises on purpose, in one place.

Readers' and moderators' refusals are ServiceErrors: a message in the reader's language (built
with gettext when raised, never in a module-level constant), the fields it concerns, and a
machine-readable code that never changes. They know nothing of HTTP: each edge answers them in
its own way (api/errors.py gives the JSON shape and the status, through STATUS there; the pages
show a message). The others are for the command line and the operators' tools.
"""

from __future__ import annotations

from flask_babel import gettext


class ServiceError(Exception):
    """A refusal a reader can understand, with its machine-readable code."""

    code = "bad_request"

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class ValidationFailed(ServiceError):
    """Input that breaks the rules of a field; `fields` says which and why."""

    code = "validation"

    def __init__(self, fields: dict[str, list[str]], message: str | None = None):
        super().__init__(message or gettext("Please correct the marked fields."), fields)


class UnknownSite(ServiceError):
    """A `site` that this install does not serve (refused as any bad parameter)."""

    def __init__(self) -> None:
        super().__init__(gettext("Unknown site."), {"site": [gettext("Unknown site.")]})


class UnsupportedMediaType(ServiceError):
    """A request body that is not JSON where JSON is expected."""

    code = "unsupported_media_type"


class ThreadClosed(ServiceError):
    code = "closed"

    def __init__(self, message: str | None = None):
        super().__init__(message or gettext("This thread is closed to new comments."))


class Forbidden(ServiceError):
    """Not allowed to this reader or for this object."""

    code = "forbidden"


class Refused(Forbidden):
    """A comment the rules refuse outright (a ban or blocked word whose action is refuse)."""


class NotVotable(Forbidden):
    """A vote on a comment that takes none (not public, one's own, or voted too often)."""

    code = "not_votable"


class TokenExpired(ServiceError):
    code = "token_expired"

    def __init__(self, message: str | None = None):
        super().__init__(message or gettext("The time to edit this comment has passed."))


class NotFound(ServiceError):
    code = "not_found"


class LinkRefused(ServiceError):
    """A mailed link that cannot be followed: malformed or forged (this class itself), or one of
    the kinds below."""

    code = "link_refused"


class LinkGone(LinkRefused):
    """A link that worked once and no longer does: expired, used, or its target removed."""


class LinkNotYours(LinkRefused):
    """A moderation link sent to an address that no longer moderates."""


# --- not readers' errors ---------------------------------------------------------------------


class InvalidToken(Exception):
    """A signed token that is forged, malformed or for another object."""


class ExpiredToken(Exception):
    """A genuine signed token older than allowed."""


class BadImportFile(Exception):
    """An import file that cannot be read as the format named; the message is one line."""


class BadTrainingFile(ValueError):
    """A labelled file the spam filter cannot learn from; the message says where and why."""


class BackupRefused(Exception):
    """Why this database is not copied by `commentsvc backup` (with what to use instead)."""


class MailServerUnusable(Exception):
    """The mail server does not offer what the settings ask for (STARTTLS, a login): a setting
    to change, so every mail waits rather than being given up; the message names it."""


class BadSetting(ValueError):
    """A setting's value that cannot be used; the message names the variable, the value given
    and what is allowed, in one line."""

    @property
    def variable(self) -> str:
        """The variable named at the start of the message (COMMENTSVC_...)."""
        return str(self).split(":", 1)[0]
