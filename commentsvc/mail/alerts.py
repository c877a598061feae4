"""Moderator alerts for held comments (a few an hour, then an hourly digest), and the one-click
actions their signed links grant."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import force_locale, gettext, ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import sites, tokens
from ..config import Settings
from ..errors import LinkGone, LinkNotYours, LinkRefused
from ..i18n import duration, site_language
from ..models import Comment, Moderator, Status, Thread, UsedToken, utcnow
from ..moderation import moderate
from . import limits
from .outbox import public_url, queue_mail, thread_name, thread_url

ACTOR_LENGTH = 80  # AuditEntry.actor
DIGEST_EVERY = timedelta(hours=1)  # the window of ALERTS_PER_HOUR, and the digests' spacing


def alert_recipients(session: Session, settings: Settings, site: str | None = None) -> list[str]:
    """MODERATOR_EMAILS (the site's own, when it sets them) and the address of every active
    moderator of the site (admins moderate every site), each once. Without a site: everyone's."""
    query = select(Moderator.email).where(Moderator.active.is_(True)).order_by(Moderator.id)
    if site is not None:
        query = query.where(sites.moderates(site))
    accounts = session.execute(query).scalars()
    recipients: dict[str, str] = {}
    for address in [*settings.moderator_emails, *accounts]:
        address = (address or "").strip()
        if address:
            recipients.setdefault(address.lower(), address)
    return list(recipients.values())


def queue_moderator_alerts(
    session: Session, settings: Settings, comment: Comment, now: datetime | None = None
) -> int:
    """One alert per moderator address for a comment held for review, for the first
    ALERTS_PER_HOUR held comments of an hour; later ones wait for the digest. Returns how
    many mails were queued."""
    site = comment.thread.site
    settings = sites.settings_for(session, settings, site)
    recipients = alert_recipients(session, settings, site)
    if not recipients:
        return 0
    now = now or utcnow()
    key = limits.alerts_key(site)
    if not limits.take(session, key, now, DIGEST_EVERY, settings.alerts_per_hour):
        limits.hold_for_digest(session, key, now)
        return 0
    thread = comment.thread
    for recipient in recipients:
        links = {
            action: public_url(
                settings,
                "links.moderate",
                token=tokens.issue_action_token(settings.secret_key, comment.id, action, recipient),
            )
            for action in tokens.MAIL_ACTIONS
        }
        with force_locale(site_language(settings).locale):  # the moderators' language
            queue_mail(
                session,
                recipient=recipient,
                template="moderator_alert",
                subject=gettext("Comment awaiting review: %(thread)s", thread=thread_name(thread)),
                comment=comment,
                thread=thread,
                thread_name=thread_name(thread),
                thread_url=thread_url(settings, thread),
                links=links,
                links_work_for=duration(settings.action_link_max_age),
                public_url=settings.public_url,
                about=comment.id,
                sender_name=settings.mail_sender_name,
            )
    return len(recipients)


def queue_digest_if_due(session: Session, settings: Settings, now: datetime) -> int:
    """Each site's digest that is due, to that site's moderators; returns mails queued."""
    return sum(
        queue_site_digest(session, sites.settings_for(session, settings, name), name, now)
        for name in sites.names(session)
    )


def queue_site_digest(session: Session, settings: Settings, site: str, now: datetime) -> int:
    """One mail per moderator address of the site about its comments held without an alert of
    their own, at most once an hour: how many, how many wait now, and the site's queue.
    `settings` are the site's. Returns mails queued."""
    held = limits.claim_digest(session, limits.alerts_key(site), now, DIGEST_EVERY)
    if not held:
        return 0
    waiting = session.execute(
        select(func.count())
        .select_from(Comment)
        .join(Thread, Thread.id == Comment.thread_id)
        .where(Comment.status == Status.pending, Thread.site == site)
    ).scalar_one()
    if not waiting:
        return 0  # the moderators have been through the queue already
    recipients = alert_recipients(session, settings, site)
    on_site = {"site": site} if site != sites.DEFAULT_SITE else {}
    for recipient in recipients:
        with force_locale(site_language(settings).locale):  # the moderators' language
            queue_mail(
                session,
                recipient=recipient,
                template="alert_digest",
                subject=ngettext(
                    "%(num)d more comment held for review",
                    "%(num)d more comments held for review",
                    held,
                ),
                held=held,
                waiting=waiting,
                per_hour=settings.alerts_per_hour,
                queue_url=public_url(settings, "admin.queue", **on_site),
                public_url=settings.public_url,
                now=now,
                sender_name=settings.mail_sender_name,
            )
    return len(recipients)


def actor_name(recipient: str) -> str:
    """Who the audit log names for an action taken from a mailed link."""
    return f"mail link: {recipient}"[:ACTOR_LENGTH]


def check_action_link(
    session: Session, settings: Settings, token: str
) -> tuple[tokens.MailAction, Comment]:
    """The action a link grants and its comment, or LinkRefused saying why not."""
    try:
        grant = tokens.action_token_grant(settings.secret_key, token, settings.action_link_max_age)
    except tokens.ExpiredToken as exc:
        raise LinkGone(
            gettext("This link has expired. Please moderate the comment from the moderation page.")
        ) from exc
    except tokens.InvalidToken as exc:
        raise LinkRefused(
            gettext("This link is not valid. Please check that it was copied whole.")
        ) from exc
    if session.get(UsedToken, grant.token_id) is not None:
        raise LinkGone(
            gettext("This link has already been used. Each link in the mail works once.")
        )
    comment = session.get(Comment, grant.comment_id)
    if comment is None:
        raise LinkGone(gettext("This comment no longer exists."))
    site = comment.thread.site
    wanted = grant.recipient.lower()
    site_settings = sites.settings_for(session, settings, site)
    if all(address.lower() != wanted for address in alert_recipients(session, site_settings, site)):
        raise LinkNotYours(
            gettext("This link was sent to an address that no longer moderates comments.")
        )
    return grant, comment


def use_action_link(
    session: Session, settings: Settings, token: str
) -> tuple[tokens.MailAction, Comment, bool]:
    """Apply the link's action once, in the caller's transaction; True when the status changed."""
    grant, comment = check_action_link(session, settings, token)
    session.add(UsedToken(id=grant.token_id))
    session.flush()  # a simultaneous second use fails here, on the primary key
    changed = moderate(session, settings, comment, grant.action, actor=actor_name(grant.recipient))
    return grant, comment, changed
