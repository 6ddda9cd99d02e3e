"""The per-user socket cap across processes: one slot per open socket, counted per user.

In one process the slots are a set per user. With Redis (`server.ws.slots_redis`) every process
counts the same slots; a slot expires unless its process refreshes it, so the sockets of a
process that died stop counting after `SLOT_TTL_SECONDS` without anyone cleaning up.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import defaultdict

SLOT_TTL_SECONDS = 60.0


class Slots(ABC):
    """Take and give back a user's socket slots."""

    async def start(self) -> None:  # noqa: B027  (optional hook)
        """Start refreshing this process's slots, if the backend needs it."""

    async def close(self) -> None:  # noqa: B027  (optional hook)
        """Stop refreshing and release connections."""

    @abstractmethod
    async def acquire(self, user_id: str, connection_id: str, limit: int) -> bool:
        """Take a slot for the connection; False when the user already holds `limit`."""

    @abstractmethod
    async def release(self, user_id: str, connection_id: str) -> None:
        """Give the connection's slot back (a connection without one is ignored)."""


class MemorySlots(Slots):
    """The in-process backend."""

    def __init__(self) -> None:
        self._held: dict[str, set[str]] = defaultdict(set)

    async def acquire(self, user_id: str, connection_id: str, limit: int) -> bool:
        held = self._held[user_id]
        if connection_id not in held and len(held) >= limit:
            return False
        held.add(connection_id)
        return True

    async def release(self, user_id: str, connection_id: str) -> None:
        held = self._held.get(user_id)
        if held is not None:
            held.discard(connection_id)
            if not held:
                del self._held[user_id]


def create_slots(redis_url: str | None) -> Slots:
    """Slots for a URL: in-process when unset, Redis otherwise (imported lazily)."""
    if not redis_url:
        return MemorySlots()
    from server.ws.slots_redis import RedisSlots

    return RedisSlots(redis_url)
