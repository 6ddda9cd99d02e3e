"""Agent memories: facts an agent keeps across conversations, scoped and with their source."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, choice, choice_checks
from store.enums import MemoryScope
from store.vector_type import Vector


class Memory(Base):
    """A remembered fact. `scope` says whose it is besides the agent's: a user's or a group's.

    `source` records where it came from (conversation, message seq, tool call) so a recall can
    show it; the content is untrusted text when it is put back in a prompt.
    """

    __tablename__ = "memories"
    __table_args__ = (
        Index("ix_memories_by_agent_scope", "agent_id", "scope"),
        Index("ix_memories_by_user", "user_id"),
        Index("ix_memories_by_group", "group_id"),
        # The newest of an agent's memories (recall with nothing to search, vector candidates).
        Index("ix_memories_by_agent_time", "agent_id", "created_at"),
        CheckConstraint(
            "(scope = 'agent' AND user_id IS NULL AND group_id IS NULL) OR "
            "(scope = 'user' AND user_id IS NOT NULL AND group_id IS NULL) OR "
            "(scope = 'group' AND group_id IS NOT NULL AND user_id IS NULL)",
            name="scope_owner",
        ),
        *choice_checks("memories", [("scope", MemoryScope)]),
    )

    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    scope: Mapped[str] = choice(MemoryScope)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    group_id: Mapped[str | None] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    content: Mapped[str] = mapped_column(Text)
    source: Mapped[dict[str, Any] | None]
    tags: Mapped[list[Any] | None]
    last_recalled_at: Mapped[datetime | None]
    # The content's embedding (unit length) and the model that made it; none when no
    # embeddings endpoint is configured. Deferred: only the similarity search reads it.
    embedding: Mapped[list[float] | None] = mapped_column(Vector(), deferred=True)
    embedding_model: Mapped[str | None] = mapped_column(String(200))
