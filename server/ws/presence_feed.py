"""Coalesced `presence` frames: one per conversation when its member set changes, debounced.

Announcing on every subscribe sent each join to every subscriber: n joins, O(n^2) frames. Here
joins and leaves only mark a conversation dirty; at most once per `interval` the members are read
(from the shared presence store, so every process agrees) and compared with the last `presence`
frame seen on the conversation's channel, whichever process published it. A changed set is
published to everyone; an unchanged one goes only to the sockets that joined since, each of
which must still learn who is there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from runtime.bus import EventBus
from runtime.events import event
from runtime.presence import Member, Presence
from server.ws.connection import encode

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 0.15


class Newcomer(Protocol):
    def send_direct(self, text: str) -> None:
        """Queue a frame to this one socket, if it is still subscribed."""


@dataclass
class _Pending:
    task: asyncio.Task[None] | None = None
    newcomers: list[Newcomer] = field(default_factory=list)


class PresenceFeed:
    """Decides when a conversation's `presence` frame goes out, and to whom."""

    def __init__(
        self,
        presence: Presence,
        bus: EventBus,
        is_local: Callable[[str], bool],
        interval: float = INTERVAL_SECONDS,
    ) -> None:
        self.presence, self.bus = presence, bus
        self.is_local = is_local
        self.interval = interval
        self._pending: dict[str, _Pending] = {}
        self._seen: dict[str, list[Member]] = {}
        self._flushed: dict[str, float] = {}
        self._closed = False

    def changed(self, conversation_id: str, newcomer: Newcomer | None = None) -> None:
        """Someone joined or left; `newcomer` is a socket that joined and needs a frame."""
        if self._closed:
            return
        pending = self._pending.get(conversation_id)
        if pending is None:
            pending = self._pending[conversation_id] = _Pending()
            last = self._flushed.get(conversation_id)
            delay = 0.0 if last is None else max(0.0, last + self.interval - time.monotonic())
            pending.task = asyncio.create_task(
                self._flush(conversation_id, delay), name=f"presence-{conversation_id}"
            )
        if newcomer is not None:
            pending.newcomers.append(newcomer)

    def seen(self, conversation_id: str, users: Any) -> None:
        """A `presence` frame went by on the conversation's channel (from any process)."""
        if isinstance(users, list):
            self._seen[conversation_id] = users

    def forget(self, conversation_id: str) -> None:
        """This process stopped listening to the conversation: what it saw may go stale."""
        self._seen.pop(conversation_id, None)
        if conversation_id not in self._pending:
            self._flushed.pop(conversation_id, None)

    async def close(self) -> None:
        self._closed = True
        pending, self._pending = self._pending, {}
        for entry in pending.values():
            if entry.task is not None:
                entry.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await entry.task

    async def _flush(self, conversation_id: str, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        # Marks from here on start the next window, so nothing that happens during the read
        # below is missed.
        pending = self._pending.pop(conversation_id, None) or _Pending()
        self._flushed[conversation_id] = time.monotonic()
        try:
            users = await self.presence.members(conversation_id)
            frame = event("presence", conversation_id, users=users)
            if users != self._seen.get(conversation_id):
                if self.is_local(conversation_id):
                    self._seen[conversation_id] = users
                await self.bus.publish(conversation_id, frame)
            elif pending.newcomers:
                text = encode(frame)
                for newcomer in pending.newcomers:
                    newcomer.send_direct(text)
        except Exception:  # presence is best effort; a Redis blip must not break the hub
            log.warning("presence update failed for %s", conversation_id, exc_info=True)
        finally:
            if not self.is_local(conversation_id) and conversation_id not in self._pending:
                self.forget(conversation_id)
