"""A site's rules: bans by e-mail or address, and blocked words, each with what it does to a
comment (hold, mark as spam, refuse). Read by moderation.decide_status."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .audit import record
from .models import Ban, BanKind, BlockedWord, Moderator, RuleAction
from .tokens import keyed_hash

DEFAULT_SITE = "default"
ERASED_EMAIL = "erased:"  # the start of an e-mail ban's value once its address was erased


def erased_email_value(secret_key: str, email: str) -> str:
    """What an e-mail ban keeps once the address is erased: a keyed hash of it, which still
    matches the address when it comments again but no longer holds it."""
    return ERASED_EMAIL + keyed_hash(secret_key, "email ban:" + email.strip().lower())


def add_ban(
    session: Session,
    kind: BanKind,
    value: str,
    action: RuleAction,
    reason: str | None,
    actor: Moderator | str,
    site: str = DEFAULT_SITE,
) -> Ban:
    """Ban an e-mail or an address hash on a site; banning again updates the existing ban."""
    value = value.strip().lower()
    ban = session.execute(
        select(Ban).where(Ban.site == site, Ban.kind == kind, Ban.value == value)
    ).scalar_one_or_none()
    if ban is None:
        ban = Ban(site=site, kind=kind, value=value)
        session.add(ban)
    ban.action, ban.reason = action, reason
    record(
        session,
        actor,
        "ban",
        f"{kind.value} ban",
        f"{action.value}: {reason or ''}" + (f" (site {site})" if site != DEFAULT_SITE else ""),
    )
    session.flush()
    return ban


def lift_ban(session: Session, ban: Ban, actor: Moderator | str) -> None:
    record(
        session,
        actor,
        "unban",
        f"{ban.kind.value} ban",
        f"site {ban.site}" if ban.site != DEFAULT_SITE else None,
    )
    session.delete(ban)


def block_word(
    session: Session,
    word: str,
    action: RuleAction,
    actor: Moderator | str,
    site: str = DEFAULT_SITE,
) -> BlockedWord:
    """Put a word on a site's blocklist; blocking it again changes what it does."""
    word = word.strip().lower()
    entry = session.execute(
        select(BlockedWord).where(BlockedWord.site == site, BlockedWord.word == word)
    ).scalar_one_or_none()
    if entry is None:
        entry = BlockedWord(site=site, word=word)
        session.add(entry)
    entry.action = action
    record(
        session,
        actor,
        "blocklist",
        "word",
        word + (f" (site {site})" if site != DEFAULT_SITE else ""),
    )
    session.flush()
    return entry


def unblock_word(session: Session, entry: BlockedWord, actor: Moderator | str) -> None:
    record(session, actor, "unblocklist", "word", entry.word)
    session.delete(entry)
