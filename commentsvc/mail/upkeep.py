"""What the sender does before each pass: queue the mail that has come due (the moderators'
digest, opt-ins that waited for their day) and, now and then, delete mail kept long enough."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from ..chores import Every
from ..config import Settings
from . import limits
from .alerts import queue_digest_if_due
from .outbox import delete_old_mail
from .subscriptions import offer_waiting_opt_ins

log = logging.getLogger("commentsvc.mail")

LIMITS_KEPT = timedelta(days=2)  # windows over for this long are forgotten
_prunes = Every()


def queue_due_mail(session: Session, settings: Settings, now: datetime) -> int:
    """Queue the digest and the waiting opt-ins that are due at `now`; how many mails."""
    queued = queue_digest_if_due(session, settings, now)
    session.commit()
    return queued + offer_waiting_opt_ins(session, settings, now)


def prune(session: Session, settings: Settings, now: datetime) -> int:
    """Delete sent and given-up mail past OUTBOX_RETENTION_DAYS, and windows long over."""
    deleted = delete_old_mail(session, settings.outbox_retention_days, now)
    limits.prune(session, now, LIMITS_KEPT)
    session.commit()
    if deleted:
        log.info(
            "%d sent or given-up mail(s) older than %d days deleted",
            deleted,
            settings.outbox_retention_days,
        )
    return deleted


def prune_if_due(session: Session, settings: Settings, now: datetime) -> int | None:
    """Prune at most once an hour per process; None when not yet due."""
    if not _prunes.due(time.monotonic()):
        return None
    return prune(session, settings, now)


def before_pass(session: Session, settings: Settings, now: datetime) -> None:
    """Everything above; a failure is logged and rolled back, and the pass still sends."""
    for step in (queue_due_mail, prune_if_due):
        try:
            step(session, settings, now)
        except Exception:
            session.rollback()
            log.exception("mail sender: %s failed; sending what is queued anyway", step.__name__)
