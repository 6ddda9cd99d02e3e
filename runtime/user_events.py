"""Events for one person rather than one conversation: their conversation list and badges.

Each user has a channel on the event bus, so an event reaches every socket of theirs in every
server process (Redis pub/sub with `REDIS_URL`). The frames are additive to protocol v1:
`conversation.added`, `conversation.updated`, `conversation.removed`, `conversation.activity`,
`conversation.read` and `notification`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from runtime.bus import EventBus

# Not a ULID, so a user channel never meets a conversation's room.
PREFIX = "__user__:"


def user_channel(user_id: str) -> str:
    return f"{PREFIX}{user_id}"


def user_event(kind: str, conversation_id: str | None, **fields: Any) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": kind}
    if conversation_id is not None:
        frame["conversation_id"] = conversation_id
    return {**frame, **fields}


async def publish_to_users(bus: EventBus, user_ids: Iterable[str], frame: dict[str, Any]) -> None:
    for user_id in dict.fromkeys(user_ids):
        await bus.publish(user_channel(user_id), frame)
