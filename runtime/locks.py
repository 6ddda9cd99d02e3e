"""One running turn per conversation: leases with fencing tokens.

A lease expires unless renewed, so a dead holder never blocks a conversation for long; the fencing
token grows with every grant, so a writer can tell whether it still holds the newest lease.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass


class LeaseLost(Exception):
    """The lease expired or was taken over: the holder must stop writing."""


@dataclass
class Lease:
    """A grant of `key` to `holder`. `lost` is set by a holder that found it gone for good
    (lapsed and taken by another); the holder then starts nothing more under it."""

    key: str
    token: int
    holder: str
    expires_at: float
    lost: bool = False


class TurnLock(ABC):
    """Grants at most one live lease per key (conversation id)."""

    @abstractmethod
    async def try_acquire(self, key: str, holder: str, ttl: float) -> Lease | None:
        """The lease, or None if another holder's lease is live."""

    @abstractmethod
    async def renew(self, lease: Lease, ttl: float) -> None:
        """Extend a lease still held; raise `LeaseLost` otherwise."""

    @abstractmethod
    async def release(self, lease: Lease) -> None:
        """Give the lease back (no-op if it was already lost)."""

    @abstractmethod
    async def is_current(self, lease: Lease) -> bool:
        """True while `lease` is the newest live grant for its key."""

    @abstractmethod
    async def held(self, key: str) -> bool:
        """True while some live lease holds `key` (a probe that takes nothing)."""

    def renew_blocking(self, lease: Lease, ttl: float) -> bool:
        """Extend a lease still held, from a thread of its own; False if it is lost.

        The holder's heartbeat runs outside its event loop, so a loop kept busy (a first turn
        compiling its graph, a starved machine) does not look like a dead process.
        """
        raise NotImplementedError

    async def acquire(self, key: str, holder: str, ttl: float, poll: float = 0.05) -> Lease:
        """Wait for the lease."""
        while True:
            lease = await self.try_acquire(key, holder, ttl)
            if lease is not None:
                return lease
            await asyncio.sleep(poll)

    async def close(self) -> None:  # noqa: B027
        """Release backend connections."""


class InProcessLock(TurnLock):
    """The embedded default: leases held in this process's memory."""

    def __init__(self) -> None:
        self._leases: dict[str, Lease] = {}
        self._tokens = itertools.count(1)

    async def try_acquire(self, key: str, holder: str, ttl: float) -> Lease | None:
        now = time.monotonic()
        current = self._leases.get(key)
        if current is not None and current.expires_at > now:
            return None
        lease = Lease(key, next(self._tokens), holder, now + ttl)
        self._leases[key] = lease
        return lease

    async def renew(self, lease: Lease, ttl: float) -> None:
        if not await self.is_current(lease):
            raise LeaseLost(f"lease on {lease.key} (token {lease.token}) is no longer held")
        lease.expires_at = time.monotonic() + ttl
        self._leases[lease.key] = lease

    async def release(self, lease: Lease) -> None:
        current = self._leases.get(lease.key)
        if current is not None and current.token == lease.token:
            del self._leases[lease.key]

    def renew_blocking(self, lease: Lease, ttl: float) -> bool:
        current = self._leases.get(lease.key)
        if current is None or current.token != lease.token:
            return False
        current.expires_at = lease.expires_at = time.monotonic() + ttl
        return True

    async def held(self, key: str) -> bool:
        current = self._leases.get(key)
        return current is not None and current.expires_at > time.monotonic()

    async def is_current(self, lease: Lease) -> bool:
        current = self._leases.get(lease.key)
        return (
            current is not None
            and current.token == lease.token
            and current.expires_at > time.monotonic()
        )


def create_lock(redis_url: str | None) -> TurnLock:
    """The lock for a URL: in-process when unset, a Redis lease otherwise (imported lazily)."""
    if not redis_url:
        return InProcessLock()
    from runtime.lock_redis import RedisLock

    return RedisLock(redis_url)
