"""Reply notifications: double opt-in (approved comments only, one mail a day per address), the
notification itself, and unsubscribing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import cast

from flask_babel import force_locale, gettext, ngettext
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from .. import sites, tokens
from ..config import Settings
from ..errors import LinkGone, LinkRefused
from ..i18n import duration, stored_language
from ..models import Comment, Status, Subscription, utcnow
from . import limits
from .outbox import public_url, queue_mail, reader_thread_name, thread_url

EXCERPT_LENGTH = 300
OPT_IN_EVERY = timedelta(days=1)  # at most one opt-in mail per address in this time


def excerpt(text: str, limit: int = EXCERPT_LENGTH) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def unsubscribe_url(settings: Settings, subscription: Subscription) -> str:
    token = tokens.issue_unsubscribe_token(settings.secret_key, subscription.id)
    return public_url(settings, "links.unsubscribe", token=token)


def subscribe(
    session: Session, settings: Settings, comment: Comment, now: datetime | None = None
) -> bool:
    """Record an approved comment's wish to hear of replies, and offer the opt-in by mail when
    its address has had none today; True if the subscription is new.

    Only approved comments: a held or spam comment's address must not be mailed at all, or
    anyone could have us mail anyone.
    """
    if not comment.notify or not comment.email or comment.status != Status.approved:
        return False
    exists = session.execute(
        select(Subscription.id).where(Subscription.comment_id == comment.id).limit(1)
    ).first()
    if exists:
        return False
    session.add(Subscription(comment_id=comment.id, email=comment.email.lower()))
    session.flush()
    offer_opt_in(session, settings, comment.email.lower(), now or utcnow())
    return True


_WAITING = (
    select(Subscription)
    .join(Comment, Comment.id == Subscription.comment_id)
    .where(
        Subscription.confirm_mailed.is_(None),
        Subscription.confirmed.is_(None),
        Subscription.unsubscribed.is_(None),
        Comment.status == Status.approved,
    )
)


def offer_opt_in(session: Session, settings: Settings, address: str, now: datetime) -> bool:
    """Queue one opt-in mail for every subscription of `address` still waiting for one, if the
    address has had none in the last day; True when a mail was queued.

    The mail names each thread by its address and quotes nothing a poster wrote: whoever typed
    the address in may not own it. One link confirms what this mail offers, nothing else.
    """
    waiting = (
        session.execute(_WAITING.where(Subscription.email == address).order_by(Subscription.id))
        .scalars()
        .all()
    )
    if not waiting or not limits.take(
        session, limits.opt_in_key(settings.secret_key, address), now, OPT_IN_EVERY, 1
    ):
        return False
    for subscription in waiting:
        subscription.confirm_mailed = now
    lead = waiting[0]
    comments = [
        cast(Comment, session.get(Comment, subscription.comment_id))  # cascade: it exists
        for subscription in waiting
    ]
    settings = sites.settings_for(session, settings, comments[0].thread.site)
    threads = [thread_url(settings, comment.thread, comment.id) for comment in comments]
    # The language the reader wrote the comment in whose link this mail carries.
    with force_locale(stored_language(comments[0].lang, settings).locale):
        queue_mail(
            session,
            recipient=address,
            template="confirm_subscription",
            subject=ngettext(
                "Please confirm: e-mail about replies to your comment",
                "Please confirm: e-mail about replies to your %(num)d comments",
                len(waiting),
            ),
            unsubscribe_url=unsubscribe_url(settings, lead),
            confirm_url=public_url(
                settings,
                "links.confirm",
                token=tokens.issue_confirm_token(settings.secret_key, lead.id),
            ),
            link_works_for=duration(tokens.CONFIRM_MAX_AGE),
            threads=threads,
            public_url=settings.public_url,
            about=lead.comment_id,
            now=now,
            sender_name=settings.mail_sender_name,
        )
    return True


def offer_waiting_opt_ins(
    session: Session, settings: Settings, now: datetime, limit: int = 100
) -> int:
    """For the sender: offer the subscriptions that waited for their address's day to pass,
    one address per transaction; returns how many mails were queued."""
    addresses = (
        session.execute(
            _WAITING.with_only_columns(Subscription.email)
            .distinct()
            .order_by(Subscription.email)
            .limit(limit)
        )
        .scalars()
        .all()
    )
    session.rollback()
    queued = 0
    for address in addresses:
        queued += offer_opt_in(session, settings, address, now)
        session.commit()
    return queued


def queue_reply_notifications(session: Session, settings: Settings, reply: Comment) -> int:
    """Mail the confirmed subscribers of an approved reply's parent; returns how many."""
    if reply.parent_id is None or reply.status != Status.approved:
        return 0
    parent = session.get(Comment, reply.parent_id)
    if parent is None or parent.status in (Status.spam, Status.deleted):
        return 0
    subscriptions = session.execute(
        select(Subscription)
        .where(
            Subscription.comment_id == parent.id,
            Subscription.confirmed.is_not(None),
            Subscription.unsubscribed.is_(None),
        )
        .order_by(Subscription.id)
    ).scalars()
    thread = reply.thread
    settings = sites.settings_for(session, settings, thread.site)
    skip = {(reply.email or "").lower()}  # never tell authors of their own replies
    queued = 0
    for subscription in subscriptions:
        if subscription.email.lower() in skip:
            continue
        skip.add(subscription.email.lower())
        with force_locale(stored_language(parent.lang, settings).locale):  # the subscriber's
            queue_mail(
                session,
                recipient=subscription.email,
                template="reply_notification",
                subject=gettext(
                    "New reply to your comment on %(thread)s", thread=reader_thread_name(thread)
                ),
                unsubscribe_url=unsubscribe_url(settings, subscription),
                reply=reply,
                reply_author=reply.author or gettext("Anonymous"),
                reply_url=thread_url(settings, thread, reply.id),
                parent_excerpt=excerpt(parent.text),
                thread_name=reader_thread_name(thread),
                about=reply.id,
                sender_name=settings.mail_sender_name,
            )
        queued += 1
    return queued


def _subscription(session: Session, subscription_id: int) -> Subscription:
    subscription = session.get(Subscription, subscription_id)
    if subscription is None:
        raise LinkGone(gettext("This subscription no longer exists (its comment was removed)."))
    return subscription


def subscription_to_confirm(session: Session, settings: Settings, token: str) -> Subscription:
    """The subscription an opt-in link is for, or LinkRefused saying why not."""
    try:
        subscription_id = tokens.confirm_token_subscription(settings.secret_key, token)
    except tokens.ExpiredToken as exc:
        raise LinkGone(
            gettext(
                "This confirmation link has expired. Tick “E-mail me when "
                "someone replies” on your next comment to get a new one."
            )
        ) from exc
    except tokens.InvalidToken as exc:
        raise LinkRefused(
            gettext("This confirmation link is not valid. Please check that it was copied whole.")
        ) from exc
    subscription = _subscription(session, subscription_id)
    if subscription.unsubscribed is not None:
        raise LinkGone(
            gettext("You have unsubscribed from these notifications; this link no longer works.")
        )
    return subscription


def subscription_to_end(session: Session, settings: Settings, token: str) -> Subscription | None:
    """The subscription an unsubscribe link ends (None: gone with its comment), or LinkRefused."""
    try:
        subscription_id = tokens.unsubscribe_token_subscription(settings.secret_key, token)
    except tokens.InvalidToken as exc:
        raise LinkRefused(
            gettext("This unsubscribe link is not valid. Please check that it was copied whole.")
        ) from exc
    return session.get(Subscription, subscription_id)


def _offered_with(subscription: Subscription) -> list[Subscription]:
    """The subscription and the others its opt-in mail offered (same address, same mail)."""
    session = object_session(subscription)
    if session is None or subscription.confirm_mailed is None:
        return [subscription]
    return list(
        session.execute(
            select(Subscription)
            .where(
                Subscription.email == subscription.email,
                Subscription.confirm_mailed == subscription.confirm_mailed,
            )
            .order_by(Subscription.id)
        ).scalars()
    )


def confirm(subscription: Subscription) -> bool:
    """Turn the opt-in a link was mailed for into subscriptions: every one that mail offered;
    False when they were confirmed already."""
    if subscription.confirmed is not None or subscription.unsubscribed is not None:
        return False
    now = utcnow()
    for offered in _offered_with(subscription):
        if offered.confirmed is None and offered.unsubscribed is None:
            offered.confirmed = now
    return True


def unsubscribe(subscription: Subscription) -> bool:
    """End a subscription; False when it had ended already. Unsubscribing before confirming
    declines the whole opt-in mail: every subscription it offered ends too."""
    if subscription.unsubscribed is not None:
        return False
    now = utcnow()
    ending = [subscription] if subscription.confirmed else _offered_with(subscription)
    for offered in ending:
        if offered.unsubscribed is None and (offered is subscription or offered.confirmed is None):
            offered.unsubscribed = now
    return True
