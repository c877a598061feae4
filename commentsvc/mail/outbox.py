"""Writing mails into the outbox: absolute links on the public URL, bodies from templates."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import CursorResult, delete
from sqlalchemy.orm import Session
from werkzeug.routing import BuildError

from ..config import Settings
from ..i18n import template_language
from ..models import MailStatus, OutboxMail, Thread

QUEUED = "commentsvc.mail_queued"  # session.info flag: this transaction wrote mail
SUBJECT_LENGTH = 300  # OutboxMail.subject


def public_url(settings: Settings, endpoint: str, **values: Any) -> str:
    """An absolute URL of one of our pages on PUBLIC_URL (mail is sent outside any request)."""
    base = urlsplit(settings.public_url)
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "http"
    )
    return adapter.build(endpoint, values, force_external=True)


def thread_url(settings: Settings, thread: Thread, comment_id: int | None = None) -> str:
    """The thread's page on this service, or the thread's own address when there is none."""
    site = {"site": thread.site} if thread.site != "default" else {}
    try:
        url = public_url(settings, "widget.thread_page", uri=thread.uri, **site)
    except BuildError:
        url = settings.public_url + thread.uri
    return f"{url}#comment-{comment_id}" if comment_id else url


def thread_name(thread: Thread) -> str:
    """How mails to moderators name a thread: its title, as the first poster gave it."""
    return thread.title or thread.uri


def reader_thread_name(thread: Thread) -> str:
    """How mails to readers name a thread: its address. The title came from whoever posted
    first, unchecked; a reader's mail carries no text a moderator has not seen approved."""
    return thread.uri


def one_line(text: str) -> str:
    """Text fit for a header: one line, no control characters."""
    return re.sub(r"\s+", " ", "".join(ch if ch.isprintable() else " " for ch in text)).strip()


def queue_mail(
    session: Session,
    *,
    recipient: str,
    subject: str,
    template: str,
    unsubscribe_url: str | None = None,
    about: int | None = None,
    now: datetime | None = None,
    sender_name: str | None = None,
    **context: Any,
) -> OutboxMail:
    """Add one mail (plain text and HTML from email/<template>.txt/.html) to the outbox, due
    at `now`; `about` is the id of the comment it quotes, so erasing that comment erases the
    mail. It is written in the language being rendered: callers choose it with force_locale."""
    subject = one_line(subject)
    if len(subject) > SUBJECT_LENGTH:
        subject = subject[: SUBJECT_LENGTH - 1] + "…"
    context.update(subject=subject, unsubscribe_url=unsubscribe_url, **template_language())
    env = current_app.jinja_env  # autoescapes .html, not .txt
    mail = OutboxMail(
        recipient=recipient,
        subject=subject,
        text_body=env.get_template(f"email/{template}.txt").render(context),
        html_body=env.get_template(f"email/{template}.html").render(context),
        unsubscribe_url=unsubscribe_url,
        comment_id=about,
        sender_name=sender_name,
    )
    if now is not None:  # queued by the sender for its pass at `now`
        mail.created = mail.next_attempt = now
    session.add(mail)
    session.info[QUEUED] = True
    return mail


def delete_old_mail(session: Session, days: int, now: datetime) -> int:
    """Delete sent and given-up mails older than `days` (0 keeps them); queued ones stay."""
    if days <= 0:
        return 0
    result = session.execute(
        delete(OutboxMail).where(
            OutboxMail.status.in_((MailStatus.sent, MailStatus.failed)),
            OutboxMail.created < now - timedelta(days=days),
        )
    )
    return cast("CursorResult[Any]", result).rowcount or 0
