"""Moderation: the rules every new comment meets, the policy, and moderators' actions on
comments and threads. The rules themselves (bans, blocked words) are kept by rules.py; the
audit log by audit.py."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from flask_babel import gettext
from sqlalchemy import (
    CompoundSelect,
    String,
    and_,
    bindparam,
    literal_column,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session

from . import events, spamfilter
from .audit import record
from .config import Settings
from .errors import Forbidden, Refused
from .models import (
    Ban,
    BanKind,
    BlockedWord,
    Comment,
    Moderator,
    RuleAction,
    SpamFeature,
    Status,
    Thread,
)
from .render import count_links
from .rules import erased_email_value

# Built once: these run on every new comment.
DEFAULT_SITE = "default"
_APPROVED_BY_EMAIL = (
    select(Comment.id)
    .join(Thread)
    .where(
        Comment.email == bindparam("email"),
        Comment.status == Status.approved,
        Thread.site == bindparam("site"),
    )
    .limit(1)
)

# What a new comment is checked against besides its thread, in one statement: the site's ban
# on its e-mail or address (at most one of each kind), the site's blocked words, and how many
# lessons of each kind the spam filter holds. Enum columns are read as their stored names.
_TEXT = String()
_RULES: CompoundSelect[str, str, str, int, int] = union_all(
    select(
        literal_column("'ban'").label("what"),
        type_coerce(Ban.kind, _TEXT).label("name"),
        type_coerce(Ban.action, _TEXT).label("action"),
        literal_column("0").label("spam"),
        literal_column("0").label("ham"),
    ).where(
        Ban.site == bindparam("site"),
        or_(
            and_(
                Ban.kind == BanKind.email,
                or_(Ban.value == bindparam("email"), Ban.value == bindparam("erased_email")),
            ),
            and_(Ban.kind == BanKind.address, Ban.value == bindparam("remote_hash")),
        ),
    ),
    select(
        literal_column("'word'"),
        BlockedWord.word,
        type_coerce(BlockedWord.action, _TEXT),
        literal_column("0"),
        literal_column("0"),
    ).where(BlockedWord.site == bindparam("site")),
    select(
        literal_column("'lessons'"),
        literal_column("''"),
        literal_column("''"),
        SpamFeature.spam,
        SpamFeature.ham,
    ).where(SpamFeature.feature == spamfilter.TOTAL),
)


@dataclass(frozen=True)
class Rules:
    """The site's rules that apply to one comment, and the spam filter's lesson counts."""

    ban: tuple[BanKind, RuleAction] | None  # the site's ban on its e-mail or address
    words: tuple[tuple[str, RuleAction], ...]  # the site's blocked words
    lessons: tuple[int, int]  # how many spam and ham lessons the spam filter holds


def read_rules(
    session: Session, settings: Settings, email: str | None, remote_hash: str | None
) -> Rules:
    """Everything decide_status and the spam filter need beyond the comment, in one read. An
    e-mail ban matches the address as written or as kept after an erasure."""
    ban: tuple[BanKind, RuleAction] | None = None
    words: list[tuple[str, RuleAction]] = []
    lessons = (0, 0)
    erased = erased_email_value(settings.secret_key, email) if email else None
    rows = session.execute(
        _RULES,
        {
            "site": site_of(settings),
            "email": email,
            "erased_email": erased,
            "remote_hash": remote_hash,
        },
    )
    for what, name, action, spam, ham in rows:
        if what == "ban":
            ban = ban or (BanKind[name], RuleAction[action])
        elif what == "word":
            words.append((name, RuleAction[action]))
        else:
            lessons = (spam, ham)
    return Rules(ban=ban, words=tuple(words), lessons=lessons)


def site_of(settings: Settings) -> str:
    """The site whose settings these are ("default" for the install's own)."""
    site: str = settings.site or DEFAULT_SITE
    return site


def has_approved_comment(session: Session, email: str, site: str = DEFAULT_SITE) -> bool:
    """Whether this e-mail has a published comment on the site (first-time moderation)."""
    return session.execute(_APPROVED_BY_EMAIL, {"email": email, "site": site}).first() is not None


def _blocked_word(
    words: Sequence[tuple[str, RuleAction]], text: str
) -> tuple[str, RuleAction] | None:
    """The (word, action) of a blocked word found in the text, refusals first, or None."""
    lowered = text.lower()
    for word, action in sorted(words, key=lambda w: w[1] != RuleAction.refuse):
        if re.search(rf"(?<!\w){re.escape(word.lower())}(?!\w)", lowered):
            return word, action
    return None


def _apply(action: RuleAction, reason: str) -> tuple[Status, str]:
    if action == RuleAction.refuse:
        raise Refused(gettext("This comment cannot be accepted."))
    return (Status.spam if action == RuleAction.spam else Status.pending), reason


def decide_status(
    session: Session,
    settings: Settings,
    *,
    text: str,
    html: str,
    email: str | None,
    remote_hash: str | None,
    bot_signal: str | None,
    author: str | None = None,
    website: str | None = None,
    verdict: spamfilter.Verdict | None = None,
    rules: Rules | None = None,
) -> tuple[Status, str | None]:
    """The status of a new (or edited) comment and, when it is not approved, why: rules first
    (bot signals, bans, the blocklist, the spam filter once it has learned, too many links),
    then policy. The blocklist reads the name and website as well as the text. `rules` are
    read_rules' for this comment, read here when not given."""
    if bot_signal:
        return Status.spam, f"bot signal: {bot_signal}"
    site = site_of(settings)
    if rules is None:
        rules = read_rules(session, settings, email, remote_hash)
    if rules.ban is not None:
        kind, action = rules.ban
        return _apply(action, f"banned {kind.value}")
    word = _blocked_word(rules.words, "\n".join(filter(None, (author, website, text))))
    if word is not None:
        return _apply(word[1], f"blocklisted word: {word[0]}")
    if verdict is not None and verdict.active:
        if verdict.score >= settings.spam_filter_spam:
            return Status.spam, verdict.reason()
        if verdict.score >= settings.spam_filter_hold:
            return Status.pending, verdict.reason()
    links = count_links(html)
    if links > settings.max_links:
        return Status.pending, f"{links} links (more than {settings.max_links})"
    policy = settings.moderation
    if policy == "none":
        return Status.approved, None
    if policy == "all":
        return Status.pending, "every comment is reviewed (moderation: all)"
    if email and has_approved_comment(session, email, site):
        return Status.approved, None
    return Status.pending, "first comment from this author (moderation: first-time)"


# --- moderators' actions ---------------------------------------------------------------------

ACTIONS = {
    "approve": Status.approved,
    "spam": Status.spam,
    "delete": Status.deleted,
    "restore": Status.approved,
}


def filter_action(status: Status, reason: str | None) -> str | None:
    """What the spam filter did to a comment it decided: "spam", "held", or None."""
    if reason is None or not reason.startswith(spamfilter.REASON_PREFIX):
        return None
    return "spam" if status == Status.spam else "held"


def _lesson(action: str, was: Status) -> str | None | Literal[False]:
    """What a moderator's action teaches the spam filter: a label, None to take back the
    comment's lesson (a restore from spam), or False for nothing (delete, restore of a deleted
    comment)."""
    if action == "approve":
        return spamfilter.HAM
    if action == "spam":
        return spamfilter.SPAM
    if action == "restore" and was == Status.spam:
        return None
    return False


def moderate(
    session: Session,
    settings: Settings,
    comment: Comment,
    action: str,
    actor: Moderator | str,
) -> bool:
    """Apply approve, spam, delete or restore to a comment; False when nothing changed."""
    new_status = ACTIONS[action]
    if comment.status == new_status:
        return False
    was = comment.status
    comment.status = new_status
    record(session, actor, action, f"comment {comment.id}", f"{was.value} -> {new_status.value}")
    lesson = _lesson(action, was)
    if lesson is not False:
        spamfilter.teach(session, settings, comment, lesson)
    session.flush()
    if new_status == Status.approved:
        events.comment_approved.send(session, settings=settings, comment=comment)
    return True


def moderate_many(
    session: Session,
    settings: Settings,
    ids: list[int],
    action: str,
    actor: Moderator,
    on_sites: list[str] | None,
) -> int:
    """Apply one action to the comments with these ids, all or none: Forbidden when one is on a
    site outside `on_sites` (None: every site). How many changed."""
    comments = session.execute(select(Comment).where(Comment.id.in_(ids))).scalars().all()
    if on_sites is not None and any(c.thread.site not in on_sites for c in comments):
        raise Forbidden("Your role does not allow this.")  # moderators read English
    return sum(moderate(session, settings, comment, action, actor) for comment in comments)


def set_thread_closed(
    session: Session, thread: Thread, closed: bool, actor: Moderator | str
) -> None:
    if thread.closed != closed:
        thread.closed = closed
        record(session, actor, "close" if closed else "reopen", f"thread {thread.id}")


def rename_thread(
    session: Session, thread: Thread, title: str | None, actor: Moderator | str
) -> None:
    if thread.title != title:
        record(session, actor, "rename", f"thread {thread.id}", f"{thread.title!r} -> {title!r}")
        thread.title = title
