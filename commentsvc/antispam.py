"""Bot signals that need no third party, and an optional Akismet-compatible check."""

from __future__ import annotations

import hashlib
import logging
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Executable, bindparam, delete, or_, select
from sqlalchemy.orm import Session

from . import tokens
from .chores import Every
from .config import Settings
from .models import Comment, UsedToken, UTCDateTime, utcnow
from .transactions import upsert_insert

log = logging.getLogger("commentsvc.antispam")

_DUPLICATE = (
    select(Comment.id)
    .where(
        Comment.text_hash == bindparam("text_hash"),
        Comment.created >= bindparam("since"),
        Comment.id != bindparam("exclude"),
        or_(Comment.remote_hash == bindparam("remote_hash"), Comment.email == bindparam("email")),
    )
    .limit(1)
)
_PRUNE_FORM_TOKENS = delete(UsedToken).where(
    UsedToken.id.startswith(tokens.FORM_TOKEN_PREFIX, autoescape=True),
    UsedToken.used < bindparam("before"),
)


class _Folding(dict[int, int | str | None]):
    """str.translate's table for normalised_text, filled as characters are met: invisible
    format characters go, punctuation, controls and separators become spaces."""

    def __missing__(self, code: int) -> int | str | None:
        category = unicodedata.category(chr(code))
        value = None if category == "Cf" else " " if category[0] in "PCZ" else code
        self[code] = value
        return value


_FOLDING = _Folding()


def normalised_text(text: str) -> str:
    """What stays of a text when case, spacing, punctuation and invisible characters go:
    "Great post!", "great  post" and "Great\u200b post." are one text to the duplicate check."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    # One lookup per character in C; Python runs only for a character not met before.
    kept = folded.translate(_FOLDING)
    return " ".join(kept.split()) or " ".join(folded.split())


def text_digest(text: str) -> str:
    """The stored digest of a comment's normalised text (Comment.text_hash)."""
    return hashlib.sha256(normalised_text(text).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def is_duplicate(
    session: Session,
    *,
    text_hash: str,
    remote_hash: str,
    email: str | None,
    window: int,
    exclude: int = 0,
) -> bool:
    """The same normalised text from the same address or e-mail within the last `window`
    seconds (one indexed lookup); `exclude` is the comment being edited."""
    if window <= 0:
        return False
    since = utcnow() - timedelta(seconds=window)
    found = session.execute(
        _DUPLICATE,
        {
            "remote_hash": remote_hash,
            "email": email,
            "since": since,
            "text_hash": text_hash,
            "exclude": exclude,
        },
    ).first()
    return found is not None


def form_token_used(session: Session, token: str) -> bool:
    """Whether a form token was used already, by a read alone (use_form_token decides)."""
    return (
        session.execute(_FORM_TOKEN_USED, {"token_id": tokens.form_token_id(token)}).first()
        is not None
    )


_FORM_TOKEN_USED = select(UsedToken.id).where(UsedToken.id == bindparam("token_id"))


def use_form_token(session: Session, token: str) -> bool:
    """Mark a form token used, in the caller's transaction; False when it was used before.
    One statement: an insert that does nothing when the token is there already (of two posts
    racing with one token, the second waits for the first's commit, then finds it used)."""
    connection = session.connection()
    statement = _USE_FORM_TOKEN.get(connection.dialect.name)
    if statement is None:
        insert = upsert_insert(connection.dialect.name)
        statement = _USE_FORM_TOKEN[connection.dialect.name] = (
            insert(UsedToken)
            .values(id=bindparam("token_id"), used=bindparam("used_at", type_=UTCDateTime()))
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(UsedToken.id)
        )
    found = connection.execute(
        statement, {"token_id": tokens.form_token_id(token), "used_at": utcnow()}
    )
    return found.first() is not None


# Built once per database dialect: a statement built for each post cost more than running it.
_USE_FORM_TOKEN: dict[str, Executable] = {}


_prunes = Every()


def prune_used_form_tokens_if_due(session: Session, max_age: int, now: float) -> int | None:
    """Forget used form tokens older than any token still accepted, at most once an hour per
    process; None when not yet due."""
    if not _prunes.due(now):
        return None
    before = utcnow() - timedelta(seconds=max_age + 60)
    return (
        cast("CursorResult[Any]", session.execute(_PRUNE_FORM_TOKENS, {"before": before})).rowcount
        or 0
    )


def akismet_says_spam(settings: Settings, fields: Mapping[str, str | None]) -> bool:
    """Ask the configured Akismet-compatible service; any failure lets the comment through."""
    key, endpoint = settings.akismet_key, settings.akismet_endpoint
    if not key or not endpoint:
        return False
    data = {
        "api_key": key,
        "blog": settings.public_url,
        "comment_type": "comment",
        **{name: value for name, value in fields.items() if value},
    }
    request = urllib.request.Request(  # noqa: S310  (the operator configures an http(s) URL)
        endpoint,
        data=urllib.parse.urlencode(data).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "commentsvc/1 | Akismet-compatible",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.akismet_timeout) as response:  # noqa: S310
            answer: str = response.read(64).decode("ascii", "replace").strip()
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        log.warning("spam check unavailable, comment let through: %s", type(exc).__name__)
        return False
    if answer not in ("true", "false"):
        log.warning("spam check gave an unexpected answer; comment let through")
    return answer == "true"
