"""Events of a conversation, shaped as the websocket protocol's server frames.

The runtime publishes these dicts on the event bus; the server forwards them to subscribers
as they are (adding `ref` only to frames that answer a client frame).
"""

from __future__ import annotations

from typing import Any, Literal

EventType = Literal[
    "message",
    "turn.start",
    "delta",
    "tool.call",
    "tool.result",
    "tool.approval",
    "tool.decision",
    "turn.end",
    "typing",
    "presence",
    "participant.removed",
    "participant.added",
    "message.tagged",
    "message.updated",
    "message.deleted",
    "participant.updated",
    "conversation.deleted",
]


def event(kind: EventType, conversation_id: str, **fields: Any) -> dict[str, Any]:
    """A frame-shaped event: `{"type": kind, "conversation_id": ..., **fields}`."""
    return {"type": kind, "conversation_id": conversation_id, **fields}
