"""The earlier versions of edited messages: what a message said before each edit."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base


class MessageEdit(Base):
    """One edit of a message: the content it replaced, who changed it, and its `edit_seq`.

    A delete removes a message's edits with its content (a tombstone keeps nothing to read).
    """

    __tablename__ = "message_edits"
    __table_args__ = (Index("ix_message_edits_by_message", "message_id", "edit_seq"),)

    message_id: Mapped[str] = mapped_column(
        ForeignKey("conversation_messages.id", ondelete="CASCADE")
    )
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    edit_seq: Mapped[int] = mapped_column(Integer)
    previous_content: Mapped[str] = mapped_column(Text)
    edited_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
