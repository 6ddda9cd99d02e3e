"""What each person has read in a conversation, whether they muted it, and their notifications."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, utcnow


class ConversationRead(Base):
    """A person's read position (the last seq they saw) in one conversation, shared by all of
    their devices; kept per user rather than per participant row, so group members who never
    posted have one too."""

    __tablename__ = "conversation_reads"
    __table_args__ = (
        UniqueConstraint("conversation_id", "user_id", name="uq_conversation_reads_conv_user"),
        Index("ix_conversation_reads_by_user", "user_id"),
    )

    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    last_read_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    muted: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Notification(Base):
    """Something that asks for a person's attention: an @mention of them, or an agent's reply
    to their message while they were not in the room."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_by_user_and_read", "user_id", "read_at"),)

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    actor_name: Mapped[str | None] = mapped_column(String(200))
    preview: Mapped[str] = mapped_column(Text, default="")
    read_at: Mapped[datetime | None]
