"""Failure counters in Redis, so that every server process sees the same counts and waits.

A key is a hash {n: failures, t: time of the last one} that expires `window` after the last
failure; times are Redis's own clock, so processes on machines whose clocks differ still agree.
While Redis cannot be reached each process counts in memory instead: sign-in keeps working and
stays limited (per process) rather than failing for everyone.
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.ratelimit import Backoff, Failures, MemoryFailures

log = logging.getLogger(__name__)
UNREACHABLE = (RedisError, OSError)

DEFAULT_PREFIX = "elevate:failures:"

# KEYS: counter. Returns {failures, last, now}.
READ = """
local t = redis.call('TIME')
local entry = redis.call('HMGET', KEYS[1], 'n', 't')
return {entry[1] or '0', entry[2] or '0', t[1] .. '.' .. string.format('%06d', t[2])}
"""

# KEYS: counter. ARGV: window ms.
FAIL = """
local t = redis.call('TIME')
redis.call('HINCRBY', KEYS[1], 'n', 1)
redis.call('HSET', KEYS[1], 't', t[1] .. '.' .. string.format('%06d', t[2]))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""


class RedisFailures(Failures):
    """`Failures` shared by every process on one Redis."""

    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX) -> None:
        self.prefix = prefix
        self._redis = Redis.from_url(url, decode_responses=True, socket_timeout=5.0)
        self._read = self._redis.register_script(READ)
        self._fail = self._redis.register_script(FAIL)
        self.fallback = MemoryFailures()

    async def wait(self, key: str, policy: Backoff) -> float:
        try:
            count, last, now = await self._read(keys=[self.prefix + key])
        except UNREACHABLE as error:
            log.warning("login limits counted in process memory: %s", error)
            return await self.fallback.wait(key, policy)
        return max(
            policy.wait(int(count), float(last), float(now)),
            await self.fallback.wait(key, policy),
        )

    async def fail(self, key: str, policy: Backoff) -> None:
        try:
            await self._fail(keys=[self.prefix + key], args=[max(1, int(policy.window * 1000))])
        except UNREACHABLE:
            await self.fallback.fail(key, policy)

    async def forget(self, key: str) -> None:
        await self.fallback.forget(key)
        try:
            await self._redis.delete(self.prefix + key)
        except UNREACHABLE as error:
            log.warning("login limit not cleared in Redis: %s", error)

    async def mark(self, key: str, ttl: float) -> None:
        await self.fallback.mark(key, ttl)
        try:
            await self._redis.set(self.prefix + "mark:" + key, "1", px=max(1, int(ttl * 1000)))
        except UNREACHABLE as error:
            log.warning("trusted address not stored in Redis: %s", error)

    async def marked(self, key: str) -> bool:
        try:
            return bool(await self._redis.exists(self.prefix + "mark:" + key))
        except UNREACHABLE:
            return await self.fallback.marked(key)

    async def close(self) -> None:
        await self._redis.aclose()
