"""One running turn per conversation across processes: a Redis lease with fencing.

The lease key holds `<token>:<holder>` with a PX expiry, so a dead process's lease lapses after its
ttl. The token comes from a per-key counter that only grows, and every renew, release and check
runs as a Lua script that compares the stored value with the caller's, so a stale holder can
neither extend nor delete a newer holder's lease.

If Redis loses its data (a restart without persistence), the counter falls behind the tokens that
live holders carry; a holder that then finds its key gone re-asserts it and lifts the counter past
its token, so a running turn survives the restart. A key that merely expired stays lost.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from redis import exceptions
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from runtime.locks import Lease, LeaseLost, TurnLock

logger = logging.getLogger(__name__)

DEFAULT_PREFIX = "elevate:lease:"

# KEYS: lease, fence. ARGV: holder, ttl ms. Returns the new token, or nil when the key is held.
ACQUIRE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token .. ':' .. ARGV[1], 'NX', 'PX', ARGV[2])
return token
"""

# KEYS: lease, fence. ARGV: value, token, ttl ms, extend (1/0). Returns 1 while the lease is held.
CLAIM = """
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  if ARGV[4] == '1' then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
  return 1
end
if current then return 0 end
local fence = tonumber(redis.call('GET', KEYS[2]) or '0')
if fence >= tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1
"""

# KEYS: lease. ARGV: value. Deletes the key only if it is still the caller's.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

UNREACHABLE = (exceptions.ConnectionError, exceptions.TimeoutError, OSError)


class RedisLock(TurnLock):
    """`TurnLock` over Redis: `SET NX PX` lease plus an `INCR`'d fencing token per key."""

    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX) -> None:
        self.prefix = prefix
        # One retry covers a pooled connection that died with a restarted server.
        self._redis = Redis.from_url(
            url, decode_responses=True, retry=Retry(NoBackoff(), 1), socket_timeout=5.0
        )
        self._acquire = self._redis.register_script(ACQUIRE)
        self._claim = self._redis.register_script(CLAIM)
        self._release = self._redis.register_script(RELEASE)
        self._unreachable = False
        # The heartbeat thread's own client (see `renew_blocking`).
        self._url = url
        self._blocking: redis.Redis | None = None
        self._blocking_lock = threading.Lock()

    def _keys(self, key: str) -> list[str]:
        # The hash tag keeps both keys in one slot on a Redis Cluster.
        return [f"{self.prefix}{{{key}}}", f"{self.prefix}{{{key}}}:fence"]

    async def try_acquire(self, key: str, holder: str, ttl: float) -> Lease | None:
        expires_at = time.monotonic() + ttl
        try:
            token = await self._acquire(keys=self._keys(key), args=[holder, _ms(ttl)])
        except UNREACHABLE as error:
            # Nobody can be granted the lease while Redis is down; waiting callers keep polling.
            self._warn_unreachable(error)
            return None
        self._unreachable = False
        if token is None:
            return None
        return Lease(key, int(token), holder, expires_at)

    async def renew(self, lease: Lease, ttl: float) -> None:
        expires_at = time.monotonic() + ttl
        try:
            held = await self._claim_lease(lease, ttl, extend=True)
        except UNREACHABLE as error:
            # Unreachable is not lost: the lease stays valid until its own expiry.
            self._warn_unreachable(error)
            if lease.expires_at <= time.monotonic():
                raise LeaseLost(
                    f"lease on {lease.key} expired while Redis was unreachable"
                ) from error
            return
        if not held:
            raise LeaseLost(f"lease on {lease.key} (token {lease.token}) is no longer held")
        lease.expires_at = expires_at

    async def release(self, lease: Lease) -> None:
        value = _value(lease)
        try:
            await self._release(keys=self._keys(lease.key)[:1], args=[value])
        except UNREACHABLE as error:
            self._warn_unreachable(error)  # the lease lapses on its own

    async def is_current(self, lease: Lease) -> bool:
        remaining = lease.expires_at - time.monotonic()
        if remaining <= 0:
            return False
        try:
            return await self._claim_lease(lease, remaining, extend=False)
        except UNREACHABLE as error:
            self._warn_unreachable(error)
            return True

    def renew_blocking(self, lease: Lease, ttl: float) -> bool:
        with self._blocking_lock:
            if self._blocking is None:
                self._blocking = redis.Redis.from_url(
                    self._url, decode_responses=True, socket_timeout=5.0
                )
            client = self._blocking
        args = [_value(lease), lease.token, _ms(ttl), "1"]
        expires_at = time.monotonic() + ttl
        try:
            held = bool(client.eval(CLAIM, 2, *self._keys(lease.key), *args))
        except UNREACHABLE:
            return lease.expires_at > time.monotonic()  # unreachable is not lost
        if held:
            lease.expires_at = expires_at
        return held

    async def held(self, key: str) -> bool:
        try:
            return bool(await self._redis.exists(self._keys(key)[0]))
        except UNREACHABLE as error:
            self._warn_unreachable(error)
            return True  # nobody can take it over while Redis is down

    async def close(self) -> None:
        await self._redis.aclose()
        if self._blocking is not None:
            self._blocking.close()

    async def _claim_lease(self, lease: Lease, ttl: float, *, extend: bool) -> bool:
        args = [_value(lease), lease.token, _ms(ttl), "1" if extend else "0"]
        held = await self._claim(keys=self._keys(lease.key), args=args)
        self._unreachable = False
        return bool(held)

    def _warn_unreachable(self, error: BaseException) -> None:
        # Callers poll; one warning per outage is enough.
        if not self._unreachable:
            logger.warning("Redis lock backend unreachable: %s", error)
        self._unreachable = True


def _value(lease: Lease) -> str:
    return f"{lease.token}:{lease.holder}"


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))
