"""Which agent reply a regenerate asks for another version of, and its place among versions.

A regenerate is a message of type `regenerate` (no text) that the requester stores with
`triggers=True`, so it is owed an answer exactly like a person's message (store/triggers.py).
The reply it gets names the version it replaces in `meta.regenerates`; every version of one
reply points at the first one (`version_of`), which is how pages group them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from store.db import Database
from store.enums import MemberKind, MessageKind
from store.errors import NotFound, StoreError
from store.models import AgentTurn, ConversationMessage, ConversationParticipant

REGENERATE_TYPE = "regenerate"


class NotAgentReply(StoreError):
    """Only an agent's own reply to a message can be regenerated."""

    code = "not_agent_reply"

    def __init__(self, seq: int, why: str) -> None:
        super().__init__(f"message #{seq} cannot be regenerated: {why}")


@dataclass(frozen=True)
class Target:
    """The reply to regenerate: who wrote it, what it answered, the first of its versions."""

    message_id: str
    seq: int
    agent_id: str
    trigger_seq: int | None
    version_of: str
    version: int

    def marker_meta(self) -> dict[str, Any]:
        """What the regenerate message stores (and the new reply repeats in `regenerates`)."""
        return {
            "regenerate": {
                "message_id": self.message_id,
                "seq": self.seq,
                "agent_id": self.agent_id,
                "trigger_seq": self.trigger_seq,
                "version_of": self.version_of,
                "version": self.version,
            }
        }


def version_root(meta: dict[str, Any] | None, message_id: str) -> str:
    """The first version of the reply a message is a version of (itself if none)."""
    regenerates = (meta or {}).get("regenerates")
    if isinstance(regenerates, dict) and isinstance(regenerates.get("version_of"), str):
        return str(regenerates["version_of"])
    return message_id


async def regenerate_target(db: Database, conversation_id: str, seq: int) -> Target:
    """The agent reply at `seq`, checked: an agent's completed, cancelled or failed reply of
    a turn of its own (not a delegated one, whose answer went to the agent that asked)."""
    async with db.read() as session:
        row = (
            await session.execute(
                select(ConversationMessage, ConversationParticipant, AgentTurn)
                .outerjoin(
                    ConversationParticipant,
                    ConversationParticipant.id == ConversationMessage.author_participant_id,
                )
                .outerjoin(AgentTurn, AgentTurn.id == ConversationMessage.turn_id)
                .where(
                    ConversationMessage.conversation_id == conversation_id,
                    ConversationMessage.seq == seq,
                )
            )
        ).first()
        if row is None:
            raise NotFound("conversation_messages", f"{conversation_id}#{seq}", "seq")
        message, author, turn = row
        if message.kind == MessageKind.SYSTEM.value or author is None:
            raise NotAgentReply(seq, "it is a system note")
        if author.kind != MemberKind.AGENT.value or author.agent_id is None:
            raise NotAgentReply(seq, "it was written by a person, not an agent")
        if turn is None or (message.meta or {}).get("parent_turn_id") or turn.parent_turn_id:
            raise NotAgentReply(seq, "it answered another agent's hand-off, not a message")
        root = version_root(message.meta, message.id)
        markers = await session.scalars(
            select(ConversationMessage.meta).where(
                ConversationMessage.conversation_id == conversation_id,
                ConversationMessage.type == REGENERATE_TYPE,
            )
        )
        earlier = sum(
            1 for meta in markers if (meta or {}).get("regenerate", {}).get("version_of") == root
        )
    return Target(message.id, seq, author.agent_id, turn.trigger_seq, root, earlier + 2)
