"""What the sender does before each pass: queue the mail that has come due (the moderators'
digest, opt-ins that waited for their day)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from .alerts import queue_digest_if_due
from .subscriptions import offer_waiting_opt_ins

log = logging.getLogger("commentsvc.mail")


def queue_due_mail(session: Session, config: Mapping[str, Any], now: datetime) -> int:
    """Queue the digest and the waiting opt-ins that are due at `now`; how many mails."""
    queued = queue_digest_if_due(session, config, now)
    session.commit()
    return queued + offer_waiting_opt_ins(session, config, now)


def before_pass(session: Session, config: Mapping[str, Any], now: datetime) -> None:
    """The above; a failure is logged and rolled back, and the pass still sends."""
    try:
        queue_due_mail(session, config, now)
    except Exception:
        session.rollback()
        log.exception("mail sender: queueing due mail failed; sending what is queued anyway")
