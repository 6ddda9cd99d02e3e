"""Rate limits: a token bucket for websocket frames, and failure counters with backoff.

A bucket belongs to one socket, so it lives in process memory. Failure counters (failed logins
and registrations) must hold across processes: `create_failures` picks Redis when `REDIS_URL` is
set (`server.ratelimit_redis`) and process memory otherwise, behind one interface.

Failures back off exponentially instead of locking: the first `free` failures of a key cost
nothing, each further one doubles the wait before the key may try again, up to `cap`; a key is
forgotten `window` seconds after its last failure. A request made while a key waits is refused
without being counted, so hammering does not push the wait past `cap`.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass


class TokenBucket:
    """Allows `rate` events per second on average, with bursts up to `burst`."""

    def __init__(self, rate: float, burst: int, clock=time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, max(1, burst), clock
        self.tokens = float(self.burst)
        self.updated = clock()

    def take(self) -> bool:
        """Spend one token if there is one."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass(frozen=True)
class Backoff:
    """How failures of one kind of key are punished."""

    free: int
    base: float = 1.0
    cap: float = 300.0
    window: float = 3600.0

    def delay(self, failures: int) -> float:
        """Seconds a key with `failures` must wait after its last failure."""
        if failures < self.free:
            return 0.0
        return min(self.cap, self.base * 2.0 ** min(failures - self.free, 62))

    def wait(self, failures: int, last: float, now: float) -> float:
        if failures <= 0 or now - last >= self.window:
            return 0.0
        return max(0.0, last + self.delay(failures) - now)


class Failures(ABC):
    """Failure counts per key, and marks (a key that is trusted for a while)."""

    @abstractmethod
    async def wait(self, key: str, policy: Backoff) -> float:
        """Seconds until `key` may try again (0 when it may now)."""

    @abstractmethod
    async def fail(self, key: str, policy: Backoff) -> None:
        """Count a failure of `key`."""

    @abstractmethod
    async def forget(self, key: str) -> None:
        """Clear `key`'s failures."""

    @abstractmethod
    async def mark(self, key: str, ttl: float) -> None:
        """Remember `key` for `ttl` seconds."""

    @abstractmethod
    async def marked(self, key: str) -> bool:
        """Whether `key` was marked and its mark has not expired."""

    async def close(self) -> None:  # noqa: B027  (optional hook)
        """Release connections, if the backend has any."""


class MemoryFailures(Failures):
    """The in-process backend: counts hold for one server process."""

    def __init__(self, clock=time.monotonic) -> None:
        self.clock = clock
        self._failures: dict[str, tuple[int, float]] = {}
        self._marks: dict[str, float] = {}

    async def wait(self, key: str, policy: Backoff) -> float:
        count, last = self._failures.get(key, (0, 0.0))
        now = self.clock()
        if count and now - last >= policy.window:
            del self._failures[key]
            return 0.0
        return policy.wait(count, last, now)

    async def fail(self, key: str, policy: Backoff) -> None:
        now = self.clock()
        count, last = self._failures.get(key, (0, now))
        self._failures[key] = (1 if now - last >= policy.window else count + 1, now)

    async def forget(self, key: str) -> None:
        self._failures.pop(key, None)

    async def mark(self, key: str, ttl: float) -> None:
        self._marks[key] = self.clock() + ttl

    async def marked(self, key: str) -> bool:
        until = self._marks.get(key)
        if until is not None and until <= self.clock():
            del self._marks[key]
            return False
        return until is not None


def create_failures(redis_url: str | None) -> Failures:
    """Failure counters for a URL: in-process when unset, Redis otherwise (imported lazily)."""
    if not redis_url:
        return MemoryFailures()
    from server.ratelimit_redis import RedisFailures

    return RedisFailures(redis_url)
