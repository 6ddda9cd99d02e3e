"""Agents, tools, the grants between them, prompts and prompt attachments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, choice, choice_checks
from store.enums import AgentKind, AttachmentOwner


class Agent(Base):
    """An agent definition; the runtime compiles it into a LangGraph graph.

    `version` grows on every edit (of the row, its grants or its prompts) so compiled graphs
    can be cached and rebuilt on the next turn. `handle` is what people type after `@`.
    """

    __tablename__ = "agents"
    __table_args__ = (
        Index("ix_agents_by_creator", "created_by"),
        Index("ix_agents_by_handle", "handle", unique=True),
        *choice_checks("agents", [("kind", AgentKind)]),
    )

    name: Mapped[str] = mapped_column(String(200))
    handle: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text, default="")
    avatar_url: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = choice(AgentKind, default=AgentKind.USER)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    goal: Mapped[str | None] = mapped_column(Text)
    system_prompt: Mapped[str | None] = mapped_column(Text)
    instructions: Mapped[str | None] = mapped_column(Text)
    personality: Mapped[str | None] = mapped_column(Text)
    delegates_to: Mapped[list[Any] | None]
    attached_prompts: Mapped[list[Any] | None]
    model: Mapped[str | None] = mapped_column(String(200))
    tools: Mapped[list[Any] | None]
    knowledge: Mapped[Any | None] = mapped_column(JSON)
    memories: Mapped[Any | None] = mapped_column(JSON)
    last_active_time: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]
    updated_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Set when the agent is deleted: the row stays so its messages keep their author.
    deleted_at: Mapped[datetime | None]


class Tool(Base):
    """A registered Python tool, synced by name from the tool registry."""

    __tablename__ = "tools"
    __table_args__ = (
        Index("ix_tools_by_creator", "created_by"),
        UniqueConstraint("name", name="uq_tools_name"),
    )

    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(Text, default="")
    config: Mapped[dict[str, Any] | None]
    parameters: Mapped[dict[str, Any] | None]
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime | None]


class AgentTool(Base):
    """A grant: the agent may call the tool, with this configuration and these limits."""

    __tablename__ = "agent_tools"
    __table_args__ = (
        Index("ix_agent_tools_by_agent", "agent_id"),
        Index("ix_agent_tools_by_tool", "tool_id"),
        UniqueConstraint("agent_id", "tool_id", name="uq_agent_tools_agent_tool"),
    )

    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    tool_id: Mapped[str] = mapped_column(ForeignKey("tools.id", ondelete="CASCADE"))
    config: Mapped[dict[str, Any] | None]
    updated_at: Mapped[datetime | None]
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Prompt(Base):
    """A reusable prompt; attached to agents or groups it shapes their instructions."""

    __tablename__ = "prompts"
    __table_args__ = (Index("ix_prompts_by_creator", "created_by"),)

    title: Mapped[str] = mapped_column(String(300))
    content: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[Any] | None]
    status: Mapped[str | None] = mapped_column(String(32))
    category: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    updated_at: Mapped[datetime | None]
    updated_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Attachment(Base):
    """A prompt attached to an agent or a group (`owner_type` says which)."""

    __tablename__ = "attachments"
    __table_args__ = (
        Index("ix_attachments_by_owner", "owner_type", "owner_id"),
        Index("ix_attachments_by_prompt", "prompt_id"),
        *choice_checks("attachments", [("owner_type", AttachmentOwner)]),
    )

    owner_type: Mapped[str] = choice(AttachmentOwner)
    owner_id: Mapped[str] = mapped_column(String(26))
    prompt_id: Mapped[str] = mapped_column(ForeignKey("prompts.id", ondelete="CASCADE"))
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
