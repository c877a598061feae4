"""What the sender does before each pass: queue the mail that has come due (the moderators'
digest, opt-ins that waited for their day) and, now and then, delete mail kept long enough."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from ..chores import Every
from . import limits
from .alerts import queue_digest_if_due
from .outbox import delete_old_mail
from .subscriptions import offer_waiting_opt_ins

log = logging.getLogger("commentsvc.mail")

LIMITS_KEPT = timedelta(days=2)  # windows over for this long are forgotten
_prunes = Every()


def queue_due_mail(session: Session, config: Mapping[str, Any], now: datetime) -> int:
    """Queue the digest and the waiting opt-ins that are due at `now`; how many mails."""
    queued = queue_digest_if_due(session, config, now)
    session.commit()
    return queued + offer_waiting_opt_ins(session, config, now)


def prune(session: Session, config: Mapping[str, Any], now: datetime) -> int:
    """Delete sent and given-up mail past OUTBOX_RETENTION_DAYS, and windows long over."""
    deleted = delete_old_mail(session, config["OUTBOX_RETENTION_DAYS"], now)
    limits.prune(session, now, LIMITS_KEPT)
    session.commit()
    if deleted:
        log.info(
            "%d sent or given-up mail(s) older than %d days deleted",
            deleted,
            config["OUTBOX_RETENTION_DAYS"],
        )
    return deleted


def prune_if_due(session: Session, config: Mapping[str, Any], now: datetime) -> int | None:
    """Prune at most once an hour per process; None when not yet due."""
    if not _prunes.due(time.monotonic()):
        return None
    return prune(session, config, now)


def before_pass(session: Session, config: Mapping[str, Any], now: datetime) -> None:
    """Everything above; a failure is logged and rolled back, and the pass still sends."""
    for step in (queue_due_mail, prune_if_due):
        try:
            step(session, config, now)
        except Exception:
            session.rollback()
            log.exception("mail sender: %s failed; sending what is queued anyway", step.__name__)
