"""Database models: threads and their comments."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given for a UTC column")
            value = value.astimezone(UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Status(enum.Enum):
    pending = "pending"
    approved = "approved"
    spam = "spam"
    deleted = "deleted"


class Thread(db.Model):
    __tablename__ = "threads"
    __table_args__ = (UniqueConstraint("site", "uri"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site: Mapped[str] = mapped_column(String(64), default="default")
    uri: Mapped[str] = mapped_column(String(500))
    title: Mapped[str | None] = mapped_column(String(200))
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    comments: Mapped[list[Comment]] = relationship(back_populates="thread", lazy="write_only")


class Comment(db.Model):
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
    html: Mapped[str] = mapped_column(Text)
    status: Mapped[Status] = mapped_column(
        Enum(Status, native_enum=False, length=16, validate_strings=True)
    )
    held_reason: Mapped[str | None] = mapped_column(String(200))
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited: Mapped[datetime | None] = mapped_column(UTCDateTime)
    score: Mapped[int] = mapped_column(Integer, default=0)
    notify: Mapped[bool] = mapped_column(Boolean, default=False)
    remote_addr: Mapped[str | None] = mapped_column(String(64))  # anonymised: IPv4 /24, IPv6 /48
    remote_hash: Mapped[str | None] = mapped_column(String(64))  # keyed hash of the full address
    avatar: Mapped[str] = mapped_column(String(16), default="")  # identicon seed, public

    thread: Mapped[Thread] = relationship(back_populates="comments")
