"""Readers' votes: one per reader per published comment, changeable, no cookie, no account."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, cast

from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import sites
from .config import Settings
from .errors import NotFound, NotVotable, ValidationFailed
from .models import Comment, Status, Vote
from .tokens import keyed_hash

VOTER = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
MAX_ID = 2**31 - 1  # ids are INTEGER on every backend: a larger one names no comment
READERS_PER_ADDRESS = 5  # distinct readers who may vote on one comment from one address


def cast_vote(
    session: Session,
    settings: Settings,
    comment_id: int,
    data: Mapping[str, Any],
    remote_addr: str | None,
) -> int:
    """Record `value` (1, -1, or 0 to take the vote back) of the reader `voter` on a comment;
    returns the comment's new score.

    A reader is their random token (kept by the widget); a new token from an address that
    already gave READERS_PER_ADDRESS votes on the comment is refused, so clearing the token
    does not buy more votes, while a household or an office behind one address still can.
    """
    value, voter = data.get("value"), data.get("voter")
    problems = {}
    if type(value) is not int or value not in (-1, 0, 1):
        problems["value"] = [gettext("Must be 1 (up), -1 (down) or 0 (take the vote back).")]
    if not isinstance(voter, str) or not VOTER.match(voter):
        problems["voter"] = [
            gettext("Must be the reader's random token: 16 to 128 letters, digits, '-' or '_'.")
        ]
    if problems:
        raise ValidationFailed(problems)
    comment = session.get(Comment, comment_id) if comment_id <= MAX_ID else None
    if comment is None or comment.status == Status.deleted or not sites.on_site(settings, comment):
        raise NotFound(gettext("No such comment."))
    if comment.status != Status.approved:  # held and spam alike: the verdict stays ours
        raise NotVotable(gettext("Votes are for published comments; this one awaits moderation."))
    secret = settings.secret_key
    reader = keyed_hash(secret, f"voter|{voter}")
    address = keyed_hash(secret, f"vote address|{remote_addr or ''}")
    mine = session.execute(
        select(Vote).where(Vote.comment_id == comment_id, Vote.voter == reader)
    ).scalar_one_or_none()
    if value == 0:
        if mine is not None:
            session.delete(mine)
    elif mine is not None:
        mine.value = cast(int, value)  # checked above
    else:
        others = session.execute(
            select(func.count())
            .select_from(Vote)
            .where(Vote.comment_id == comment_id, Vote.address == address)
        ).scalar_one()
        if others >= READERS_PER_ADDRESS:
            raise NotVotable(
                gettext("Enough readers have voted on this comment from your network.")
            )
        session.add(Vote(comment_id=comment_id, voter=reader, address=address, value=value))
    session.flush()
    comment.score = session.execute(
        select(func.coalesce(func.sum(Vote.value), 0)).where(Vote.comment_id == comment_id)
    ).scalar_one()
    session.flush()  # a changed score makes the thread's cached pages stale (its version)
    return comment.score
