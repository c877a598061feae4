"""Database models: threads, comments, moderators and their rules, mail."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    DDL,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    bindparam,
    event,
    func,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from sqlalchemy.orm.util import identity_key

from .extensions import Model


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given for a UTC column")
            value = value.astimezone(UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Status(enum.Enum):
    pending = "pending"
    approved = "approved"
    spam = "spam"
    deleted = "deleted"


class Site(Model):
    """One blog (or docs site) served by this install: its own origins, policy, rules,
    moderators and mail. A setting left None takes the install's (COMMENTSVC_*) value."""

    __tablename__ = "sites"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)  # "default", "docs"
    title: Mapped[str | None] = mapped_column(String(200))
    origins: Mapped[str | None] = mapped_column(Text)  # a JSON list of origins
    moderation: Mapped[str | None] = mapped_column(String(16))  # all | first-time | none
    max_links: Mapped[int | None] = mapped_column(Integer)
    alert_emails: Mapped[str | None] = mapped_column(Text)  # a JSON list of addresses
    sender_name: Mapped[str | None] = mapped_column(String(80))  # the From name of its mails
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# A database made from the models (not the migrations) starts with the default site too.
# (SQLAlchemy leaves DDL() unannotated.)
event.listen(
    Site.__table__,
    "after_create",
    DDL(  # type: ignore[no-untyped-call]
        "INSERT INTO sites (name, created) VALUES ('default', CURRENT_TIMESTAMP)"
    ),
)


class ModeratorSite(Model):
    """A (non-admin) moderator's right to moderate one site."""

    __tablename__ = "moderator_sites"

    moderator_id: Mapped[int] = mapped_column(
        ForeignKey("moderators.id", ondelete="CASCADE"), primary_key=True
    )
    site: Mapped[str] = mapped_column(
        ForeignKey("sites.name", ondelete="CASCADE"), primary_key=True
    )


class Thread(Model):
    __tablename__ = "threads"
    __table_args__ = (UniqueConstraint("site", "uri"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # No ON DELETE: a site that has threads cannot be deleted.
    site: Mapped[str] = mapped_column(String(40), ForeignKey("sites.name"), default="default")
    uri: Mapped[str] = mapped_column(String(500))
    title: Mapped[str | None] = mapped_column(String(200))
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Bumped in the same transaction as every change to the thread or its comments, so a
    # cached copy of the thread is known to be current by its version alone.
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # How many of its comments are approved: what every count reads, one row by (site, uri).
    # Kept in the same transaction as every write that adds, removes or changes the status of
    # one: a new comment adds to it, any other change recounts it (see recount_approved).
    approved_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    comments: Mapped[list[Comment]] = relationship(back_populates="thread", lazy="write_only")


class Comment(Model):
    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_thread_status_created", "thread_id", "status", "created"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="SET NULL"), index=True
    )
    author: Mapped[str | None] = mapped_column(String(80))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    website: Mapped[str | None] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)
    # What `text` is written in: "markdown" (everything posted here) or "html" (imported from
    # a blog platform); `html` is rendered from it by render.render_source either way.
    text_format: Mapped[str] = mapped_column(
        String(8), default="markdown", server_default="markdown"
    )
    html: Mapped[str] = mapped_column(Text)
    status: Mapped[Status] = mapped_column(
        Enum(Status, native_enum=False, length=16, validate_strings=True)
    )
    held_reason: Mapped[str | None] = mapped_column(String(200))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited: Mapped[datetime | None] = mapped_column(UTCDateTime)
    score: Mapped[int] = mapped_column(Integer, default=0)
    notify: Mapped[bool] = mapped_column(Boolean, default=False)
    # The language the reader posted in (a BCP-47 tag of i18n.LANGUAGES), for their mails and
    # the pages those open; None for comments from before it was kept, and imported ones.
    lang: Mapped[str | None] = mapped_column(String(16))
    remote_addr: Mapped[str | None] = mapped_column(String(64))  # anonymised: IPv4 /24, IPv6 /48
    remote_hash: Mapped[str | None] = mapped_column(String(64), index=True)  # of the full address
    # A digest of the normalised text (case, spacing, punctuation, invisible characters), so
    # the duplicate check is one indexed lookup however much the same source has posted.
    text_hash: Mapped[str | None] = mapped_column(String(32), index=True)
    avatar: Mapped[str] = mapped_column(String(16), default="")  # identicon seed, public
    moderator_id: Mapped[int | None] = mapped_column(
        ForeignKey("moderators.id", ondelete="SET NULL")
    )  # set on a moderator's own replies

    # Where an imported comment came from ("disqus:299619020", "blogger:tag:...",
    # "sha256:..." where the source has no id): a second import of the same file skips it.
    origin: Mapped[str | None] = mapped_column(String(255), index=True)

    # The spam filter's score when the comment was posted or last edited (None: filter off),
    # and what the filter did with it: "held", "spam", or None when it left it to the policy.
    spam_score: Mapped[float | None] = mapped_column(Float)
    filter_action: Mapped[str | None] = mapped_column(String(8))

    thread: Mapped[Thread] = relationship(back_populates="comments")


class Vote(Model):
    """One reader's vote on one comment: +1 or -1 (a vote taken back is deleted)."""

    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("comment_id", "voter"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    voter: Mapped[str] = mapped_column(String(32))  # keyed hash of the reader's random token
    address: Mapped[str] = mapped_column(String(32), index=True)  # keyed hash of the address
    value: Mapped[int] = mapped_column(Integer)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Role(enum.Enum):
    admin = "admin"  # manages moderators and settings
    moderator = "moderator"


class Moderator(UserMixin, Model):  # type: ignore[misc]  # Flask-Login has no types
    __tablename__ = "moderators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(80))  # shown on public replies
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=16, validate_strings=True), default=Role.moderator
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active


class AdminSession(Model):
    """A moderator's login, kept on the server so logout and a password change can end it."""

    __tablename__ = "admin_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # digest of the cookie's token
    moderator_id: Mapped[int] = mapped_column(
        ForeignKey("moderators.id", ondelete="CASCADE"), index=True
    )
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class AuditEntry(Model):
    """One moderator action: who, what, on which comment or thread, when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    moderator_id: Mapped[int | None] = mapped_column(
        ForeignKey("moderators.id", ondelete="SET NULL"), index=True
    )
    actor: Mapped[str] = mapped_column(String(80))  # kept when the account is gone
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(80))  # e.g. "comment 12", "thread 3"
    detail: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class BanKind(enum.Enum):
    email = "email"
    address = "address"  # the keyed hash of the poster's full address


class RuleAction(enum.Enum):
    hold = "hold"  # pending, for a moderator to decide
    spam = "spam"
    refuse = "refuse"  # 403, nothing stored


class Ban(Model):
    __tablename__ = "bans"
    __table_args__ = (UniqueConstraint("site", "kind", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site: Mapped[str] = mapped_column(
        ForeignKey("sites.name", ondelete="CASCADE"), default="default", server_default="default"
    )
    kind: Mapped[BanKind] = mapped_column(
        Enum(BanKind, native_enum=False, length=16, validate_strings=True)
    )
    value: Mapped[str] = mapped_column(String(254))
    action: Mapped[RuleAction] = mapped_column(
        Enum(RuleAction, native_enum=False, length=16, validate_strings=True)
    )
    reason: Mapped[str | None] = mapped_column(String(200))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BlockedWord(Model):
    __tablename__ = "blocked_words"
    __table_args__ = (UniqueConstraint("site", "word"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site: Mapped[str] = mapped_column(
        ForeignKey("sites.name", ondelete="CASCADE"), default="default", server_default="default"
    )
    word: Mapped[str] = mapped_column(String(100))
    action: Mapped[RuleAction] = mapped_column(
        Enum(RuleAction, native_enum=False, length=16, validate_strings=True)
    )
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MailStatus(enum.Enum):
    queued = "queued"
    sent = "sent"
    failed = "failed"  # gave up after the last retry


class OutboxMail(Model):
    """A mail to send, written in the same transaction as what caused it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next_attempt", "status", "next_attempt"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    sender_name: Mapped[str | None] = mapped_column(String(80))  # the From name (its site's)
    unsubscribe_url: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[MailStatus] = mapped_column(
        Enum(MailStatus, native_enum=False, length=16, validate_strings=True),
        default=MailStatus.queued,
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The comment the mail quotes or is about: erasing its author erases the mail with it.
    comment_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), index=True
    )


class Subscription(Model):
    """A reader's wish to hear of replies to one comment; confirmed by a mailed link."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    comment_id: Mapped[int] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254), index=True)
    confirmed: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the opt-in mail offering it was queued; None while it waits for one (an address
    # gets at most one a day). The subscriptions one mail offered share this time.
    confirm_mailed: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MailLimit(Model):
    """A window that spaces out one kind of mail: moderator alerts, or opt-in mails to one
    address (keyed by a keyed hash of the address, never the address itself)."""

    __tablename__ = "mail_limits"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent: Mapped[int] = mapped_column(Integer, default=0)  # mails taken in this window
    held: Mapped[int] = mapped_column(Integer, default=0)  # alerts only: waiting for a digest
    digested: Mapped[datetime | None] = mapped_column(UTCDateTime)  # alerts only: last digest


class UsedToken(Model):
    """Single-use tokens that have been used: one-click moderation links, form tokens."""

    __tablename__ = "used_tokens"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    used: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class SpamFeature(Model):
    """The spam filter's model: in how many spam and how many ham lessons a feature was seen,
    and the feature's weight in the regression fitted to all lessons (None: not fitted yet)."""

    __tablename__ = "spam_features"

    feature: Mapped[str] = mapped_column(String(80), primary_key=True)
    spam: Mapped[int] = mapped_column(Integer, default=0)
    ham: Mapped[int] = mapped_column(Integer, default=0)
    weight: Mapped[float | None] = mapped_column(Float, nullable=True)


class SpamModel(Model):
    """One row: how often the lessons changed, and when and on which change the regression was
    last fitted, with the held-back lessons' scores of that fit (a JSON list of [spam, score])."""

    __tablename__ = "spam_model"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    changes: Mapped[int] = mapped_column(Integer, default=0)
    fitted_changes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    fitted: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    fit_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    held_back: Mapped[str | None] = mapped_column(Text, nullable=True)
    refitting_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SpamLesson(Model):
    """One lesson of the spam filter: a moderator's decision on a comment (at most one per
    comment) or one labelled example from a training file, with the features it taught, so
    that it can be taken back exactly and held back to measure the filter."""

    __tablename__ = "spam_lessons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    comment_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), unique=True
    )
    label: Mapped[str] = mapped_column(String(4))  # "spam" or "ham"
    source: Mapped[str] = mapped_column(String(16))  # "moderator" or "file"
    features: Mapped[str] = mapped_column(Text)  # a JSON list
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class RateLimitCounter(Model):
    """One rate-limit window's count, shared by every process that uses this database (the
    default when no Redis is configured)."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    expires: Mapped[float] = mapped_column(Float, index=True)  # Unix time the window ends


_BUMP_VERSIONS = (
    update(Thread)
    .where(Thread.id.in_(bindparam("ids", expanding=True)))
    .values(version=Thread.version + 1)
)
# A new approved comment's thread: bumped and counted in one statement. An addition to the
# locked row is applied to its latest committed version (PostgreSQL re-reads a row another
# writer changed while this UPDATE waited), unlike a count of the comments, whose snapshot
# was taken before the wait (see recount_approved).
_BUMP_AND_ADD = (
    update(Thread)
    .where(Thread.id == bindparam("thread_id"))
    .values(version=Thread.version + 1, approved_count=Thread.approved_count + bindparam("added"))
)
_RECOUNT = (
    update(Thread)
    .where(Thread.id.in_(bindparam("ids", expanding=True)))
    .values(
        approved_count=select(func.count())
        .select_from(Comment)
        .where(Comment.thread_id == Thread.id, Comment.status == Status.approved)
        .scalar_subquery()
    )
)
_BUMP_CHUNK = 500  # ids per IN (...): far below every backend's limit on parameters


def _chunks(ids: Iterable[int]) -> list[list[int]]:
    ids = sorted(ids)  # one order for every writer: row locks taken in it cannot deadlock
    return [ids[start : start + _BUMP_CHUNK] for start in range(0, len(ids), _BUMP_CHUNK)]


def bump_thread_versions(connection: Connection, ids: Iterable[int]) -> None:
    """Mark these threads' cached pages and counts stale, in every process."""
    for chunk in _chunks(ids):
        connection.execute(_BUMP_VERSIONS, {"ids": chunk})


def bump_and_add_approved(connection: Connection, added: dict[int, int]) -> None:
    """Bump these threads' versions and add new approved comments to their counts: thread id
    -> how many were added. Only for threads whose other comments' statuses did not change."""
    for ident in sorted(added):
        connection.execute(_BUMP_AND_ADD, {"thread_id": ident, "added": added[ident]})


def recount_approved(connection: Connection, ids: Iterable[int]) -> None:
    """Set these threads' approved_count from their comments, in the caller's transaction.

    Call it after bump_thread_versions of the same threads: the bump's row lock makes writers
    of one thread take turns until they commit, and this statement, begun after the lock is
    held, sees every earlier turn's comments (PostgreSQL's READ COMMITTED gives each statement
    a fresh snapshot; a recount in the locking statement itself would count from the snapshot
    taken before the wait, and lose the other writer's change).
    """
    for chunk in _chunks(ids):
        connection.execute(_RECOUNT, {"ids": chunk})


def _status_or_thread_changed(comment: Comment) -> set[int]:
    """The threads an updated comment left or is in, when its status or thread changed."""
    state = inspect(comment)
    status, thread = state.attrs.status.history, state.attrs.thread_id.history
    if not status.has_changes() and not thread.has_changes():
        return set()
    return {comment.thread_id, *(ident for ident in thread.deleted if ident is not None)}


@event.listens_for(Session, "after_flush")
def _bump_thread_versions(session: Session, _context: Any) -> None:
    """Every flushed change to a thread or a comment makes the thread's cached copies stale;
    a comment added, removed, or moved to or from approved has its thread's count changed too:
    by addition for new comments (the common case: one statement), by a recount otherwise."""
    changed: set[int] = set()
    recount: set[int] = set()
    added: dict[int, int] = {}
    new, deleted = session.new, session.deleted  # each built anew on every access
    for obj in (*new, *session.dirty, *deleted):
        if isinstance(obj, Comment) and obj.thread_id is not None:
            changed.add(obj.thread_id)
            if obj in new:
                if obj.status == Status.approved:
                    added[obj.thread_id] = added.get(obj.thread_id, 0) + 1
            elif obj in deleted:
                recount.add(obj.thread_id)
            else:
                recount |= _status_or_thread_changed(obj)
        elif isinstance(obj, Thread) and obj.id is not None:
            changed.add(obj.id)
    if changed:
        if recount or changed != added.keys():
            # Threads are locked in one order by every writer (see _chunks): a flush that
            # changes more than new comments recounts every thread it touched, in that order.
            recount |= added.keys()
            added = {}
        connection = session.connection()
        bump_thread_versions(connection, (changed | recount) - added.keys())
        bump_and_add_approved(connection, added)
        recount_approved(connection, recount)
        session.info.setdefault("recounted", set()).update(recount | added.keys())


@event.listens_for(Session, "after_flush_postexec")
def _expire_counts(session: Session, _context: Any) -> None:
    """Loaded threads show the count the recount wrote, not the one they were loaded with."""
    for ident in session.info.pop("recounted", ()):
        thread = session.identity_map.get(identity_key(Thread, ident))
        if thread is not None:
            session.expire(thread, ["approved_count"])
