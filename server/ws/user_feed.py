"""Each user's own channel, delivered to their sockets in this process.

One bus subscription per user with a socket here, opened with their first socket and closed
with their last; every event on it goes to each of their sockets as it is (see
`runtime.user_events`). A user removed from a conversation loses it from their list through
this channel; the room's subscription itself is cut by the hub.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import TYPE_CHECKING

from runtime.bus import Event, Subscription
from runtime.user_events import user_channel
from server.ws.connection import Connection, encode

if TYPE_CHECKING:
    from runtime.bus import EventBus

log = logging.getLogger(__name__)


class UserFeed:
    """This process's user channels and the sockets listening to them."""

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self.sockets: dict[str, set[Connection]] = defaultdict(set)
        self.subscriptions: dict[str, Subscription] = {}
        self._lock = asyncio.Lock()

    async def attach(self, connection: Connection) -> None:
        assert connection.user is not None
        user_id = connection.user.id
        async with self._lock:
            self.sockets[user_id].add(connection)
            if user_id not in self.subscriptions:
                self.subscriptions[user_id] = await self.bus.subscribe(
                    user_channel(user_id), lambda item: self._deliver(user_id, item)
                )

    async def detach(self, connection: Connection) -> None:
        if connection.user is None:
            return
        user_id = connection.user.id
        async with self._lock:
            mine = self.sockets.get(user_id)
            if mine is None or connection not in mine:
                return
            mine.discard(connection)
            if mine:
                return
            del self.sockets[user_id]
            subscription = self.subscriptions.pop(user_id, None)
            if subscription is not None:
                await self.bus.unsubscribe(subscription)

    def _deliver(self, user_id: str, item: Event) -> None:
        text = encode(item)
        for connection in tuple(self.sockets.get(user_id, ())):
            connection.send(text)
