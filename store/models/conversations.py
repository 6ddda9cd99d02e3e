"""Conversations, their participants and messages, and the turns agents take in them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, choice, choice_checks, exactly_one_member_check, utcnow
from store.enums import (
    MemberKind,
    MessageKind,
    MessageStatus,
    MessageTab,
    Role,
    ToolCallStatus,
    TurnStatus,
)


class Conversation(Base):
    """A room of people and agents. `last_seq` is the counter messages take their `seq` from."""

    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_by_user_and_time", "created_by", "last_message_time"),
        Index("ix_conversations_by_group", "group_id"),
    )

    title: Mapped[str] = mapped_column(String(300))
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    group_id: Mapped[str | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"))
    last_message_time: Mapped[datetime] = mapped_column(default=utcnow)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    policy: Mapped[dict[str, Any] | None]
    # A running summary of the messages older than the agents' history window, covering
    # every message up to `summary_seq`; the runtime extends it incrementally.
    summary: Mapped[str | None] = mapped_column(Text)
    summary_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Durable triggers: `trigger_seq` is the latest message that asks agents to answer (set in
    # the message's own transaction), `handled_seq` the latest one whose answer has started
    # (set with the turn that answers it); every trigger between them is still owed an answer.
    trigger_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    handled_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The fencing token of the conversation's current lease holder: each holder takes the next
    # one when it claims the conversation, and its turn and reply writes require it unchanged.
    fence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The counter edits and deletes of its messages take their `edit_seq` from (they keep
    # their message's `seq`), so a client resuming by seq also learns of later edits.
    edit_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Set by the owner: the room leaves the main list (it stays readable and can come back).
    archived_at: Mapped[datetime | None]


class ConversationParticipant(Base):
    """A user or an agent in a conversation; removal is a flag so history keeps its authors."""

    __tablename__ = "conversation_participants"
    __table_args__ = (
        Index("ix_conversation_participants_by_conversation_id", "conversation_id"),
        Index("ix_conversation_participants_by_user_id", "user_id"),
        Index("ix_conversation_participants_by_agent_id", "agent_id"),
        UniqueConstraint("conversation_id", "user_id", name="uq_conv_participants_conv_user"),
        UniqueConstraint("conversation_id", "agent_id", name="uq_conv_participants_conv_agent"),
        exactly_one_member_check(),
        *choice_checks("conversation_participants", [("kind", MemberKind), ("role", Role)]),
    )

    kind: Mapped[str] = choice(MemberKind)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(32), default="active")
    role: Mapped[str] = choice(Role, default=Role.MEMBER)
    is_removed: Mapped[bool] = mapped_column(Boolean, default=False)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConversationMessage(Base):
    """A stored message. `seq` is per conversation, gap-free, assigned in the insert transaction.

    `client_msg_id` makes a send idempotent per (conversation, author).
    """

    __tablename__ = "conversation_messages"
    __table_args__ = (
        Index("ix_conversation_messages_by_conversation_id", "conversation_id"),
        UniqueConstraint("conversation_id", "seq", name="uq_conversation_messages_seq"),
        UniqueConstraint(
            "conversation_id",
            "author_participant_id",
            "client_msg_id",
            name="uq_conversation_messages_client_msg",
        ),
        CheckConstraint(
            "kind = 'system' OR author_participant_id IS NOT NULL", name="author_required"
        ),
        *choice_checks("conversation_messages", [("kind", MessageKind), ("status", MessageStatus)]),
        *choice_checks("conversation_messages", [("tab", MessageTab)]),
    )

    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    author_participant_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversation_participants.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = choice(MessageKind, default=MessageKind.PARTICIPANT)
    type: Mapped[str | None] = mapped_column(String(32), default="chat")
    status: Mapped[str | None] = choice(
        MessageStatus, nullable=True, default=MessageStatus.COMPLETE
    )
    tags: Mapped[list[Any] | None]
    content: Mapped[str] = mapped_column(Text)
    attachments: Mapped[list[Any] | None]
    meta: Mapped[dict[str, Any] | None]
    client_msg_id: Mapped[str | None] = mapped_column(String(100))
    turn_id: Mapped[str | None] = mapped_column(String(26))
    updated_at: Mapped[datetime | None]
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The seed's tab (its message `status` now/top/todo/done; `status` above is the delivery
    # state) and when a person last changed the tab or the tags (None: never).
    tab: Mapped[str | None] = choice(MessageTab, nullable=True)
    tagged_at: Mapped[datetime | None]
    # Edits and deletes (store/message_edits.py): when the content last changed, when it was
    # deleted (a tombstone: the row and its seq stay, the content is gone), and the
    # conversation's `edit_seq` that the latest of them took.
    edited_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    edit_seq: Mapped[int | None] = mapped_column(Integer)


class AgentTurn(Base):
    """One agent's turn in a conversation: status, the lease's fencing token, token usage."""

    __tablename__ = "agent_turns"
    __table_args__ = (
        Index("ix_agent_turns_by_conversation", "conversation_id", "created_at"),
        Index("ix_agent_turns_by_status", "status"),
        *choice_checks("agent_turns", [("status", TurnStatus)]),
    )

    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    trigger_seq: Mapped[int | None] = mapped_column(Integer)
    parent_turn_id: Mapped[str | None] = mapped_column(String(26))
    status: Mapped[str] = choice(TurnStatus, default=TurnStatus.RUNNING)
    fencing_token: Mapped[int | None] = mapped_column(Integer)
    model: Mapped[str | None] = mapped_column(String(200))
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    message_seq: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    ended_at: Mapped[datetime | None]


class ToolCall(Base):
    """A tool call made in a turn: arguments, result or error, how long it took."""

    __tablename__ = "tool_calls"
    __table_args__ = (
        Index("ix_tool_calls_by_turn", "turn_id"),
        Index("ix_tool_calls_by_conversation", "conversation_id"),
        *choice_checks("tool_calls", [("status", ToolCallStatus)]),
    )

    turn_id: Mapped[str | None] = mapped_column(ForeignKey("agent_turns.id", ondelete="CASCADE"))
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    tool_name: Mapped[str] = mapped_column(String(128))
    call_id: Mapped[str | None] = mapped_column(String(128))
    arguments: Mapped[dict[str, Any] | None]
    result: Mapped[Any | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = choice(ToolCallStatus)
    duration_ms: Mapped[float | None]
    decided_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
