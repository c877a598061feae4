"""The audit log: one line for every moderator's (or the command line's) action."""

from __future__ import annotations

from sqlalchemy.orm import Session

from .models import AuditEntry, Moderator


def record(
    session: Session, actor: Moderator | str, action: str, target: str, detail: str | None = None
) -> None:
    """Write one line of the audit log."""
    session.add(
        AuditEntry(
            moderator_id=actor.id if isinstance(actor, Moderator) else None,
            actor=actor.name if isinstance(actor, Moderator) else actor,
            action=action,
            target=target,
            detail=detail,
        )
    )
