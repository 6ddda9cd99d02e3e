"""Files people upload: attachments to messages and avatars; the bytes live in blob storage."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base


class Upload(Base):
    """One uploaded file: who sent it, what it is (sniffed from its bytes), where its bytes are.

    An upload starts unattached (only its uploader sees it); attaching it to a message sets
    `conversation_id` (and `client_msg_id`, so a resent message finds its own attachments),
    after which everyone with access to that conversation may read it. `purpose` is
    `attachment` or `avatar`. `text` holds what was extracted for models (text files, PDFs).
    """

    __tablename__ = "uploads"
    __table_args__ = (
        Index("ix_uploads_by_user", "user_id", "created_at"),
        Index("ix_uploads_by_conversation", "conversation_id"),
    )

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(32), default="attachment")
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    pages: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(Text)
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    client_msg_id: Mapped[str | None] = mapped_column(String(100))
    attached_at: Mapped[datetime | None]
