"""Socket slots in Redis: a sorted set per user, connection ids scored by their expiry time.

Taking a slot drops the expired ones, counts and adds in one script, so two processes admitting
the same user's sockets at once cannot both take the last slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.ws.slots import SLOT_TTL_SECONDS, Slots

log = logging.getLogger(__name__)
DEFAULT_PREFIX = "elevate:sockets:"

# KEYS: the user's set. ARGV: connection id, limit, ttl seconds. Returns 1 if the slot is taken.
ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1])
   and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[3])))
return 1
"""

# KEYS: the user's set. ARGV: ttl seconds, then connection ids still open here.
REFRESH = """
local t = redis.call('TIME')
local expiry = tonumber(t[1]) + tonumber(t[2]) / 1000000 + tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], expiry, ARGV[i]) end
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[1])))
return 1
"""


class RedisSlots(Slots):
    """`Slots` shared by every process on one Redis."""

    def __init__(
        self, url: str, *, prefix: str = DEFAULT_PREFIX, ttl: float = SLOT_TTL_SECONDS
    ) -> None:
        self.prefix, self.ttl = prefix, ttl
        self._redis = Redis.from_url(url, decode_responses=True, socket_timeout=5.0)
        self._acquire = self._redis.register_script(ACQUIRE)
        self._refresh = self._redis.register_script(REFRESH)
        self._local: dict[str, set[str]] = defaultdict(set)
        self._beater: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._beater is None:
            self._beater = asyncio.create_task(self._beat(), name="socket-slots")

    async def close(self) -> None:
        if self._beater is not None:
            self._beater.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beater
            self._beater = None
        with contextlib.suppress(RedisError, OSError):
            for user_id, held in self._local.items():
                await self._redis.zrem(self.prefix + user_id, *held)
        self._local.clear()
        await self._redis.aclose()

    async def acquire(self, user_id: str, connection_id: str, limit: int) -> bool:
        try:
            taken = await self._acquire(
                keys=[self.prefix + user_id], args=[connection_id, limit, self.ttl]
            )
        except (RedisError, OSError) as error:
            # The per-process cap still holds; refusing everyone while Redis is away would not.
            log.warning("socket slot not counted in Redis: %s", error)
            taken = 1
        if taken:
            self._local[user_id].add(connection_id)
        return bool(taken)

    async def release(self, user_id: str, connection_id: str) -> None:
        held = self._local.get(user_id)
        if held is None or connection_id not in held:
            return
        held.discard(connection_id)
        if not held:
            del self._local[user_id]
        with contextlib.suppress(RedisError, OSError):
            await self._redis.zrem(self.prefix + user_id, connection_id)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            for user_id, held in list(self._local.items()):
                try:
                    await self._refresh(keys=[self.prefix + user_id], args=[self.ttl, *held])
                except (RedisError, OSError) as error:
                    log.warning("socket slots not refreshed: %s", error)
                    break
