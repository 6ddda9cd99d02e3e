"""Event fan-out: a narrow interface with an in-process backend (Redis lives in `bus_redis`).

Events are ephemeral: a subscriber that misses some catches up on stored messages by `seq`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any

Event = dict[str, Any]
Callback = Callable[[Event], None]

log = logging.getLogger(__name__)


class Subscription:
    """A bounded queue of events for one subscriber; when it overflows the subscriber is
    marked `overflowed` and gets no more events (it must resume by seq).

    With a `callback` there is no queue: each event is handed to the callback as it is
    delivered, in publish order, which saves a task switch per event for a subscriber that
    fans out further (the websocket hub). The callback must not block; it cannot be iterated.
    """

    def __init__(self, channel: str, maxsize: int, callback: Callback | None = None) -> None:
        self.channel = channel
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize)
        self.callback = callback
        self.overflowed = False
        self.closed = False

    def deliver(self, event: Event) -> None:
        if self.closed or self.overflowed:
            return
        if self.callback is not None:
            try:
                self.callback(event)
            except Exception:  # one broken subscriber must not cost the others their events
                log.exception("event callback failed on %s", self.channel)
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True
            self._wake()

    def close(self) -> None:
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)

    async def __aiter__(self) -> AsyncIterator[Event]:
        if self.callback is not None:
            raise TypeError("a subscription with a callback is not iterable")
        while True:
            # A full queue has no room for the wake-up sentinel: stop once it is drained.
            if self.queue.empty() and (self.closed or self.overflowed):
                return
            item = await self.queue.get()
            if item is None:
                return
            yield item


class EventBus(ABC):
    """Publish an event to a channel (a conversation id); every subscriber of the channel, in
    any process sharing the backend, receives it in publish order."""

    def __init__(self, queue_size: int = 1000) -> None:
        self.queue_size = queue_size
        self._subscribers: dict[str, set[Subscription]] = defaultdict(set)

    async def start(self) -> None:  # noqa: B027  (optional hook)
        """Connect to the backend, if there is one."""

    async def close(self) -> None:
        for subscriptions in list(self._subscribers.values()):
            for subscription in list(subscriptions):
                subscription.close()
        self._subscribers.clear()

    @abstractmethod
    async def publish(self, channel: str, event: Event) -> None: ...

    async def subscribe(self, channel: str, callback: Callback | None = None) -> Subscription:
        """Listen to `channel`: iterate the subscription, or pass a `callback` per event."""
        subscription = Subscription(channel, self.queue_size, callback)
        self._subscribers[channel].add(subscription)
        await self._on_first_subscriber(channel) if len(self._subscribers[channel]) == 1 else None
        return subscription

    async def unsubscribe(self, subscription: Subscription) -> None:
        subscription.close()
        subscribers = self._subscribers.get(subscription.channel)
        if subscribers is None:
            return
        subscribers.discard(subscription)
        if not subscribers:
            del self._subscribers[subscription.channel]
            await self._on_last_unsubscribe(subscription.channel)

    def _deliver_local(self, channel: str, event: Event) -> None:
        for subscription in list(self._subscribers.get(channel, ())):
            subscription.deliver(event)

    async def _on_first_subscriber(self, channel: str) -> None:  # noqa: B027
        """Backends that listen remotely start listening to `channel` here."""

    async def _on_last_unsubscribe(self, channel: str) -> None:  # noqa: B027
        """Backends that listen remotely stop listening to `channel` here."""


class InProcessBus(EventBus):
    """The embedded default: fan-out inside one process."""

    async def publish(self, channel: str, event: Event) -> None:
        self._deliver_local(channel, event)


def create_bus(redis_url: str | None, queue_size: int = 1000) -> EventBus:
    """The bus for a URL: in-process when unset, Redis pub/sub otherwise (imported lazily)."""
    if not redis_url:
        return InProcessBus(queue_size)
    from runtime.bus_redis import RedisBus

    return RedisBus(redis_url, queue_size)
