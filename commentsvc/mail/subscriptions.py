"""Reply notifications: double opt-in, the notification itself, and unsubscribing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import tokens
from ..models import Comment, Status, Subscription, utcnow
from .alerts import LinkRefused
from .outbox import duration, public_url, queue_mail, thread_name, thread_url

EXCERPT_LENGTH = 300


def excerpt(text: str, limit: int = EXCERPT_LENGTH) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def unsubscribe_url(config: Mapping[str, Any], subscription: Subscription) -> str:
    token = tokens.issue_unsubscribe_token(config["SECRET_KEY"], subscription.id)
    return public_url(config, "links.unsubscribe", token=token)


def subscribe(session: Session, config: Mapping[str, Any], comment: Comment) -> bool:
    """Record a reader's wish to hear of replies and mail them the opt-in link; True if new."""
    if not comment.notify or not comment.email or comment.status == Status.spam:
        return False  # no opt-in mail for spam: it would let bots mail anyone through us
    exists = session.execute(
        select(Subscription.id).where(Subscription.comment_id == comment.id).limit(1)
    ).first()
    if exists:
        return False
    subscription = Subscription(comment_id=comment.id, email=comment.email)
    session.add(subscription)
    session.flush()
    thread = comment.thread
    confirm_token = tokens.issue_confirm_token(config["SECRET_KEY"], subscription.id)
    queue_mail(
        session, recipient=comment.email, template="confirm_subscription",
        subject=f"Please confirm: replies to your comment on {thread_name(thread)}",
        unsubscribe_url=unsubscribe_url(config, subscription),
        confirm_url=public_url(config, "links.confirm", token=confirm_token),
        link_works_for=duration(tokens.CONFIRM_MAX_AGE),
        comment=comment, comment_excerpt=excerpt(comment.text), thread_name=thread_name(thread),
    )
    return True


def queue_reply_notifications(session: Session, config: Mapping[str, Any],
                              reply: Comment) -> int:
    """Mail the confirmed subscribers of an approved reply's parent; returns how many."""
    if reply.parent_id is None or reply.status != Status.approved:
        return 0
    parent = session.get(Comment, reply.parent_id)
    if parent is None or parent.status in (Status.spam, Status.deleted):
        return 0
    subscriptions = session.execute(
        select(Subscription).where(
            Subscription.comment_id == parent.id,
            Subscription.confirmed.is_not(None),
            Subscription.unsubscribed.is_(None),
        ).order_by(Subscription.id)
    ).scalars()
    thread = reply.thread
    skip = {(reply.email or "").lower()}  # never tell authors of their own replies
    queued = 0
    for subscription in subscriptions:
        if subscription.email.lower() in skip:
            continue
        skip.add(subscription.email.lower())
        queue_mail(
            session, recipient=subscription.email, template="reply_notification",
            subject=f"New reply to your comment on {thread_name(thread)}",
            unsubscribe_url=unsubscribe_url(config, subscription),
            reply=reply, reply_author=reply.author or "Anonymous",
            reply_url=thread_url(config, thread, reply.id),
            parent_excerpt=excerpt(parent.text), thread_name=thread_name(thread),
        )
        queued += 1
    return queued


def _subscription(session: Session, subscription_id: int) -> Subscription:
    subscription = session.get(Subscription, subscription_id)
    if subscription is None:
        raise LinkRefused("This subscription no longer exists (its comment was removed).", 410)
    return subscription


def subscription_to_confirm(session: Session, config: Mapping[str, Any],
                            token: str) -> Subscription:
    """The subscription an opt-in link is for, or LinkRefused saying why not."""
    try:
        subscription_id = tokens.confirm_token_subscription(config["SECRET_KEY"], token)
    except tokens.ExpiredToken as exc:
        raise LinkRefused("This confirmation link has expired. Tick “notify me of replies” "
                          "on your next comment to get a new one.", 410) from exc
    except tokens.InvalidToken as exc:
        raise LinkRefused("This confirmation link is not valid. Please check that it was "
                          "copied whole.") from exc
    subscription = _subscription(session, subscription_id)
    if subscription.unsubscribed is not None:
        raise LinkRefused("You have unsubscribed from these notifications; this link no "
                          "longer works.", 410)
    return subscription


def subscription_to_end(session: Session, config: Mapping[str, Any],
                        token: str) -> Subscription | None:
    """The subscription an unsubscribe link ends (None: gone with its comment), or LinkRefused."""
    try:
        subscription_id = tokens.unsubscribe_token_subscription(config["SECRET_KEY"], token)
    except tokens.InvalidToken as exc:
        raise LinkRefused("This unsubscribe link is not valid. Please check that it was "
                          "copied whole.") from exc
    return session.get(Subscription, subscription_id)


def confirm(subscription: Subscription) -> bool:
    """Turn an opt-in into a subscription; False when it was confirmed already."""
    if subscription.confirmed is not None or subscription.unsubscribed is not None:
        return False
    subscription.confirmed = utcnow()
    return True


def unsubscribe(subscription: Subscription) -> bool:
    """End a subscription; False when it had ended already."""
    if subscription.unsubscribed is not None:
        return False
    subscription.unsubscribed = utcnow()
    return True
