"""Bot signals that need no third party, and an optional Akismet-compatible check."""

from __future__ import annotations

import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from .models import Comment, utcnow

log = logging.getLogger("commentsvc.antispam")

_DUPLICATE = select(Comment.id).where(
    or_(Comment.remote_hash == bindparam("remote_hash"), Comment.email == bindparam("email")),
    Comment.created >= bindparam("since"), Comment.text == bindparam("text"),
).limit(1)


def is_duplicate(session: Session, *, text: str, remote_hash: str, email: str | None,
                 window: int) -> bool:
    """The same text from the same address or e-mail within the last `window` seconds."""
    if window <= 0:
        return False
    since = utcnow() - timedelta(seconds=window)
    found = session.execute(_DUPLICATE, {"remote_hash": remote_hash, "email": email,
                                         "since": since, "text": text}).first()
    return found is not None


def akismet_says_spam(config: Mapping[str, Any], fields: Mapping[str, str | None]) -> bool:
    """Ask the configured Akismet-compatible service; any failure lets the comment through."""
    key, endpoint = config["AKISMET_KEY"], config["AKISMET_ENDPOINT"]
    if not key or not endpoint:
        return False
    data = {"api_key": key, "blog": config["PUBLIC_URL"], "comment_type": "comment",
            **{name: value for name, value in fields.items() if value}}
    request = urllib.request.Request(  # noqa: S310  (the operator configures an http(s) URL)
        endpoint, data=urllib.parse.urlencode(data).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded",
                 "User-Agent": "commentsvc/1 | Akismet-compatible"},
    )
    try:
        with urllib.request.urlopen(request, timeout=config["AKISMET_TIMEOUT"]) as response:  # noqa: S310
            answer = response.read(64).decode("ascii", "replace").strip()
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        log.warning("spam check unavailable, comment let through: %s", type(exc).__name__)
        return False
    if answer not in ("true", "false"):
        log.warning("spam check gave an unexpected answer; comment let through")
    return answer == "true"
