"""JSON shapes that leave the process: stored rows as the protocol and REST show them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from store.models import ConversationMessage, ConversationParticipant


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def author_to_wire(
    participant: ConversationParticipant | None, name: str | None
) -> dict[str, Any] | None:
    """Who wrote a message: `{kind, user_id|agent_id, participant_id, name}`."""
    if participant is None:
        return None
    return {
        "participant_id": participant.id,
        "kind": participant.kind,
        "user_id": participant.user_id,
        "agent_id": participant.agent_id,
        "name": name,
    }


def message_to_wire(
    message: ConversationMessage,
    author: ConversationParticipant | None = None,
    author_name: str | None = None,
) -> dict[str, Any]:
    """A stored message as clients see it, in `message` frames and REST pages alike."""
    return {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "seq": message.seq,
        "author_participant_id": message.author_participant_id,
        "author": author_to_wire(author, author_name),
        "kind": message.kind,
        "type": message.type,
        "status": message.status,
        "tags": message.tags or [],
        "content": message.content,
        "attachments": message.attachments or [],
        "meta": message.meta or {},
        "client_msg_id": message.client_msg_id,
        "turn_id": message.turn_id,
        "created_at": iso(message.created_at),
        "tab": message.tab,
        "tagged_at": iso(message.tagged_at),
        # Edits and deletes (store/message_edits.py): a deleted message's content is "".
        "edited_at": iso(message.edited_at),
        "deleted": message.deleted_at is not None,
        "edit_seq": message.edit_seq or 0,
    }
