"""Event fan-out between processes through Redis pub/sub.

One pub/sub connection per process, read by one task, listens to every channel that has a local
subscriber. Events are ephemeral: if Redis goes away, events published meanwhile are lost (clients
catch up on stored messages by `seq`), the reader reconnects with backoff and resubscribes, and
publishing only logs its failures, because the message behind an event is already stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from runtime.bus import Callback, Event, EventBus, Subscription
from runtime.metrics import BUS_ERRORS

logger = logging.getLogger(__name__)

DEFAULT_PREFIX = "elevate:conv:"
CONFIRM_TIMEOUT = 5.0


class RedisBus(EventBus):
    """`EventBus` over Redis pub/sub: channel `<prefix><conversation id>`, JSON payloads.

    This process's own events also reach its subscribers through Redis, so every process sees
    one order: an event published after another process's event was published arrives after
    it everywhere. Only while Redis is unreachable are events delivered locally, directly.
    """

    def __init__(
        self,
        url: str,
        queue_size: int = 1000,
        *,
        prefix: str = DEFAULT_PREFIX,
        min_backoff: float = 0.05,
        max_backoff: float = 2.0,
    ) -> None:
        super().__init__(queue_size)
        self.prefix = prefix
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.process = uuid.uuid4().hex
        # One retry covers a pooled connection that died with a restarted server; more would
        # stall a turn while Redis is really down.
        self._redis = Redis.from_url(
            url, decode_responses=True, retry=Retry(NoBackoff(), 1), socket_timeout=5.0
        )
        # No retries here: redis-py would reconnect and resubscribe behind our back, and this
        # bus's reader owns reconnecting.
        self._listener = Redis.from_url(
            url, decode_responses=True, retry=Retry(NoBackoff(), 0), socket_connect_timeout=2.0
        )
        self._control = f"{prefix}__bus__:{self.process}"
        self._pubsub: PubSub | None = None
        self._lock = asyncio.Lock()
        self._confirmed: dict[str, asyncio.Event] = {}
        self._connected = asyncio.Event()
        self._down = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def connected(self) -> bool:
        """True while the pub/sub connection is up and subscribed."""
        return self._connected.is_set()

    async def start(self) -> None:
        """Start the reader task (idempotent; `subscribe` calls it too)."""
        if self._reader is None and not self._closing:
            self._reader = asyncio.create_task(self._read_forever(), name="redis-bus-reader")

    async def wait_connected(self) -> None:
        """Wait until the reader is connected (useful at start-up and in tests)."""
        await self.start()
        await self._connected.wait()

    async def close(self) -> None:
        self._closing = True
        await super().close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        await self._drop_pubsub()
        await self._redis.aclose()
        await self._listener.aclose()

    async def publish(self, channel: str, event: Event) -> None:
        # Without a listening connection Redis would not hand the event back to this process.
        local = not self.connected
        try:
            await self._redis.publish(self.prefix + channel, json.dumps(event, default=str))
        except (RedisError, OSError) as error:
            BUS_ERRORS.labels("publish").inc()
            logger.warning("event on %s not published to Redis: %s", channel, error)
            local = True
        if local:
            self._deliver_local(channel, event)

    async def subscribe(self, channel: str, callback: Callback | None = None) -> Subscription:
        await self.start()
        return await super().subscribe(channel, callback)

    async def _on_first_subscriber(self, channel: str) -> None:
        name = self.prefix + channel
        confirmed = self._confirmed[name] = asyncio.Event()
        async with self._lock:
            # Without a connection the reader subscribes every live channel when it connects.
            if self._pubsub is not None:
                try:
                    await self._pubsub.subscribe(name)
                except (RedisError, OSError) as error:
                    BUS_ERRORS.labels("subscribe").inc()
                    logger.warning("subscribe to %s deferred until Redis is back: %s", name, error)
                    return
        await self._confirmation(name, confirmed)

    async def _confirmation(self, name: str, confirmed: asyncio.Event) -> None:
        """Wait for Redis to confirm a subscription, so that an event published right after
        `subscribe` returns reaches this process; give up at once while Redis is down."""
        if self._down.is_set():
            return
        waiters = [
            asyncio.ensure_future(confirmed.wait()),
            asyncio.ensure_future(self._down.wait()),
        ]
        done, pending = await asyncio.wait(
            waiters, timeout=CONFIRM_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        for waiter in pending:
            waiter.cancel()
        if not done:
            logger.warning("Redis did not confirm the subscription to %s in time", name)

    async def _on_last_unsubscribe(self, channel: str) -> None:
        name = self.prefix + channel
        self._confirmed.pop(name, None)
        async with self._lock:
            if self._pubsub is None:
                return
            try:
                await self._pubsub.unsubscribe(name)
            except (RedisError, OSError) as error:
                logger.warning("unsubscribe from %s failed: %s", name, error)

    async def _read_forever(self) -> None:
        delay = self.min_backoff
        while not self._closing:
            try:
                await self._connect()
                delay = self.min_backoff
                await self._read(self._pubsub)
            except (RedisError, OSError) as error:
                BUS_ERRORS.labels("read").inc()
                logger.warning("Redis bus connection lost, reconnecting in %.2fs: %s", delay, error)
            except Exception:
                # The reader must outlive any surprise, or every subscriber goes deaf.
                logger.exception("Redis bus reader failed, reconnecting in %.2fs", delay)
            self._connected.clear()
            self._down.set()
            await self._drop_pubsub()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_backoff)

    async def _connect(self) -> None:
        """A fresh pub/sub connection subscribed to the control channel and every live one."""
        async with self._lock:
            pubsub = self._listener.pubsub()
            self._pubsub = pubsub
            names = [self.prefix + channel for channel in self._subscribers]
            await pubsub.subscribe(self._control, *names)

    async def _read(self, pubsub: PubSub | None) -> None:
        while pubsub is not None and not self._closing:
            message = await pubsub.get_message(timeout=None)
            if message is not None:
                self._handle(message)

    def _handle(self, message: dict[str, Any]) -> None:
        kind, name = message["type"], message["channel"]
        if kind == "subscribe":
            if name == self._control:
                self._down.clear()
                self._connected.set()
            elif (confirmed := self._confirmed.get(name)) is not None:
                confirmed.set()
            return
        if kind != "message" or not name.startswith(self.prefix):
            return
        try:
            event = json.loads(message["data"])
        except ValueError:
            event = None
        if not isinstance(event, dict):
            logger.warning("ignored a malformed event on %s", name)
            return
        self._deliver_local(name.removeprefix(self.prefix), event)

    async def _drop_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()
