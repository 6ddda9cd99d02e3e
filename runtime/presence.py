"""Who is looking at a conversation right now, across every server process.

Presence is kept per connection (one socket may show several conversations, one user may have
several sockets) and expires unless refreshed, so the connections of a process that died vanish
after `ttl` without anyone cleaning up. `members` answers with distinct users.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

logger = logging.getLogger(__name__)

Member = dict[str, str]
DEFAULT_TTL = 60.0


def as_member(user: Any) -> Member:
    """`{id, name}` from a mapping or an object with `id` and `name` (such as a `User` row)."""
    if isinstance(user, Mapping):
        user_id, name = user.get("id"), user.get("name")
    else:
        user_id, name = getattr(user, "id", None), getattr(user, "name", None)
    if not user_id:
        raise ValueError(f"presence needs a user with an id, got {user!r}")
    return {"id": str(user_id), "name": str(name or "")}


def distinct(members: list[Member]) -> list[Member]:
    """One entry per user, ordered by name then id, whatever the number of connections."""
    by_id = {member["id"]: member for member in members}
    return sorted(by_id.values(), key=lambda member: (member["name"], member["id"]))


class Presence(ABC):
    """Join/leave per (conversation, connection); entries live `ttl` seconds unless refreshed.

    While this process lives it refreshes its entries every `heartbeat_interval` (a third of the
    ttl by default), starting on the first `join`; `refresh=False` leaves that to explicit
    `heartbeat()` calls. `close()` removes this process's entries at once.
    """

    def __init__(
        self,
        ttl: float = DEFAULT_TTL,
        heartbeat_interval: float | None = None,
        *,
        refresh: bool = True,
    ) -> None:
        self.ttl = ttl
        self.heartbeat_interval = heartbeat_interval or ttl / 3
        self.refresh = refresh
        self._local: dict[str, dict[str, Member]] = {}  # connection -> conversation -> member
        self._beater: asyncio.Task[None] | None = None

    async def join(self, conversation_id: str, user: Any, connection_id: str) -> None:
        """Show `user` in the conversation for as long as this connection stays."""
        member = as_member(user)
        self._local.setdefault(connection_id, {})[conversation_id] = member
        await self._put(conversation_id, connection_id, member)
        if self.refresh:
            await self.start()

    async def leave(self, conversation_id: str, connection_id: str) -> None:
        """This connection no longer shows the conversation (the user may still, elsewhere)."""
        conversations = self._local.get(connection_id, {})
        conversations.pop(conversation_id, None)
        if not conversations:
            self._local.pop(connection_id, None)
        await self._remove(conversation_id, connection_id)

    async def leave_all(self, connection_id: str) -> list[str]:
        """Remove a closed connection everywhere; the conversations it was in."""
        conversations = list(self._local.pop(connection_id, {}))
        for conversation_id in conversations:
            await self._remove(conversation_id, connection_id)
        return conversations

    async def heartbeat(self, connection_id: str | None = None) -> None:
        """Refresh the entries of one connection, or of every connection of this process."""
        connections = [connection_id] if connection_id is not None else list(self._local)
        for connection in connections:
            for conversation_id, member in list(self._local.get(connection, {}).items()):
                await self._put(conversation_id, connection, member)

    @abstractmethod
    async def members(self, conversation_id: str) -> list[Member]:
        """The distinct users with a live connection in the conversation."""

    async def start(self) -> None:
        """Refresh this process's entries in the background until `close`."""
        if self._beater is None:
            self._beater = asyncio.create_task(self._beat_forever(), name="presence-heartbeat")

    async def close(self) -> None:
        if self._beater is not None:
            self._beater.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beater
            self._beater = None
        for connection_id in list(self._local):
            await self.leave_all(connection_id)

    async def _beat_forever(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            try:
                await self.heartbeat()
            except Exception:
                # A missed beat only risks an entry expiring early; the next beat restores it.
                logger.exception("presence heartbeat failed")

    @abstractmethod
    async def _put(self, conversation_id: str, connection_id: str, member: Member) -> None: ...

    @abstractmethod
    async def _remove(self, conversation_id: str, connection_id: str) -> None: ...


class InProcessPresence(Presence):
    """The embedded default: presence in this process's memory."""

    def __init__(
        self,
        ttl: float = DEFAULT_TTL,
        heartbeat_interval: float | None = None,
        *,
        refresh: bool = True,
    ) -> None:
        super().__init__(ttl, heartbeat_interval, refresh=refresh)
        self._entries: dict[str, dict[str, tuple[Member, float]]] = {}

    async def members(self, conversation_id: str) -> list[Member]:
        now = time.monotonic()
        entries = self._entries.get(conversation_id, {})
        for connection_id in [c for c, (_, expires) in entries.items() if expires <= now]:
            del entries[connection_id]
        return distinct([member for member, _ in entries.values()])

    async def _put(self, conversation_id: str, connection_id: str, member: Member) -> None:
        entries = self._entries.setdefault(conversation_id, {})
        entries[connection_id] = (member, time.monotonic() + self.ttl)

    async def _remove(self, conversation_id: str, connection_id: str) -> None:
        entries = self._entries.get(conversation_id)
        if entries is not None:
            entries.pop(connection_id, None)
            if not entries:
                del self._entries[conversation_id]


# Expiry uses the Redis server's clock, so processes with skewed clocks agree.
# KEYS: zset (connection -> expiry ms), hash (connection -> member JSON). ARGV: connection,
# member JSON, ttl ms.
PUT = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[3]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
"""

# KEYS: zset, hash. Drops expired connections and returns the members of the live ones.
MEMBERS = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local stale = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms)
if #stale > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
  redis.call('HDEL', KEYS[2], unpack(stale))
end
local live = redis.call('ZRANGE', KEYS[1], 0, -1)
if #live == 0 then return {} end
return redis.call('HMGET', KEYS[2], unpack(live))
"""


class RedisPresence(Presence):
    """Presence shared by every process through Redis: a sorted set of connection expiries and
    a hash of members per conversation."""

    def __init__(
        self,
        url: str,
        ttl: float = DEFAULT_TTL,
        heartbeat_interval: float | None = None,
        *,
        refresh: bool = True,
        prefix: str = "elevate:presence:",
    ) -> None:
        super().__init__(ttl, heartbeat_interval, refresh=refresh)
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self.prefix = prefix
        self._redis = Redis.from_url(
            url, decode_responses=True, retry=Retry(NoBackoff(), 1), socket_timeout=5.0
        )
        self._put_script = self._redis.register_script(PUT)
        self._members_script = self._redis.register_script(MEMBERS)

    def _keys(self, conversation_id: str) -> list[str]:
        base = f"{self.prefix}{{{conversation_id}}}"
        return [base, f"{base}:members"]

    async def members(self, conversation_id: str) -> list[Member]:
        raw = await self._members_script(keys=self._keys(conversation_id))
        return distinct([json.loads(item) for item in raw if item])

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            await self._redis.aclose()

    async def _put(self, conversation_id: str, connection_id: str, member: Member) -> None:
        args = [connection_id, json.dumps(member), max(1, int(self.ttl * 1000))]
        await self._put_script(keys=self._keys(conversation_id), args=args)

    async def _remove(self, conversation_id: str, connection_id: str) -> None:
        zset, members = self._keys(conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(zset, connection_id).hdel(members, connection_id)
            await pipe.execute()


def create_presence(
    redis_url: str | None, ttl: float = DEFAULT_TTL, heartbeat_interval: float | None = None
) -> Presence:
    """Presence for a URL: in-process when unset, Redis otherwise (imported lazily)."""
    if not redis_url:
        return InProcessPresence(ttl, heartbeat_interval)
    return RedisPresence(redis_url, ttl, heartbeat_interval)
