"""Moderation policy: which status a new comment gets, and why it is held."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Comment, Status


def has_approved_comment(session: Session, email: str) -> bool:
    found = session.execute(
        select(Comment.id).where(Comment.email == email, Comment.status == Status.approved).limit(1)
    ).first()
    return found is not None


def decide_status(
    session: Session, policy: str, *, email: str | None, bot_signal: str | None
) -> tuple[Status, str | None]:
    """The status of a new comment and, when it is not approved, the reason."""
    if bot_signal:
        return Status.spam, f"bot signal: {bot_signal}"
    if policy == "none":
        return Status.approved, None
    if policy == "all":
        return Status.pending, "every comment is reviewed (moderation: all)"
    if email and has_approved_comment(session, email):
        return Status.approved, None
    return Status.pending, "first comment from this author (moderation: first-time)"
