"""Mail: the outbox written with each comment, and the sender that drains it.

Event receivers only add OutboxMail rows to the poster's transaction; nothing is sent inline.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from .. import events
from ..config import Settings
from ..models import Comment, Status
from .alerts import queue_moderator_alerts
from .sender import SendReport, send_due
from .subscriptions import queue_reply_notifications, subscribe
from .worker import (
    STATE,
    forget_on_rollback,
    send_mail_command,
    start_background_sender,
    wake_on_commit,
)

__all__ = ["SendReport", "init_app", "send_due"]


def on_comment_posted(session: Session, *, settings: Settings, comment: Comment, **_: Any) -> None:
    """Alert the moderators of a held comment (its address hears nothing until approval)."""
    if comment.status == Status.pending:  # spam is quiet: no alert
        queue_moderator_alerts(session, settings, comment)


def on_comment_approved(
    session: Session, *, settings: Settings, comment: Comment, **_: Any
) -> None:
    """Offer the opt-in to a reader who asked; tell the parent's subscribers of the reply."""
    subscribe(session, settings, comment)  # approved on posting, by a moderator, or from spam
    queue_reply_notifications(session, settings, comment)


def init_app(app: Flask) -> None:
    """Connect the receivers, add `send-mail`, and start a sender lazily in each process."""
    events.comment_posted.connect(on_comment_posted)
    events.comment_approved.connect(on_comment_approved)
    if not event.contains(Session, "after_commit", wake_on_commit):
        event.listen(Session, "after_commit", wake_on_commit)
        event.listen(Session, "after_rollback", forget_on_rollback)
    app.extensions[STATE] = {"pid": None, "lock": threading.Lock()}
    app.before_request(start_background_sender)
    app.cli.add_command(send_mail_command)
    mail_log = logging.getLogger("commentsvc.mail")
    if mail_log.level == logging.NOTSET:
        mail_log.setLevel(logging.INFO)  # "no SMTP_HOST" mails must reach the log
    app.logger  # noqa: B018  (attaches Flask's handler to "commentsvc", which mail logs use)
