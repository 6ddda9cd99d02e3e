"""The token bucket, the backoff policy, and the failure counters on each backend."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from server.ratelimit import Backoff, Failures, MemoryFailures, TokenBucket, create_failures


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_bursts_then_the_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=2.0, burst=3, clock=clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.now = 0.5
    assert [bucket.take(), bucket.take()] == [True, False]
    clock.now = 100.0
    assert sum(bucket.take() for _ in range(10)) == 3


def test_backoff_doubles_after_the_free_failures_up_to_the_cap() -> None:
    policy = Backoff(free=3, base=1.0, cap=60.0, window=3600.0)
    assert [policy.delay(n) for n in range(1, 10)] == [0, 0, 1, 2, 4, 8, 16, 32, 60]
    assert policy.delay(10_000) == 60.0
    assert policy.wait(5, last=100.0, now=101.0) == 3.0
    assert policy.wait(5, last=100.0, now=3700.0) == 0.0  # forgotten after the window


async def test_memory_failures_back_off_and_are_forgotten() -> None:
    clock = Clock()
    failures = MemoryFailures(clock)
    policy = Backoff(free=2, base=10.0, cap=100.0, window=1000.0)
    await failures.fail("a", policy)
    assert await failures.wait("a", policy) == 0
    await failures.fail("a", policy)
    assert await failures.wait("a", policy) == 10.0
    assert await failures.wait("b", policy) == 0
    clock.now = 4.0
    assert await failures.wait("a", policy) == 6.0
    await failures.fail("a", policy)
    assert await failures.wait("a", policy) == 20.0
    clock.now = 2000.0  # past the window: the next failure counts from one again
    await failures.fail("a", policy)
    assert await failures.wait("a", policy) == 0
    await failures.forget("a")
    await failures.mark("m", ttl=5.0)
    assert await failures.marked("m") and not await failures.marked("n")
    clock.now = 2006.0
    assert not await failures.marked("m")


@pytest.fixture
async def shared(redis_url: str | None) -> AsyncIterator[tuple[Failures, Failures]]:
    """Two counters as two processes would hold them: on Redis when configured (they share the
    counts), one in-process object otherwise."""
    if redis_url is None:
        one = create_failures(None)
        yield one, one
        return
    one, two = create_failures(redis_url), create_failures(redis_url)
    try:
        yield one, two
    finally:
        await one.close()
        await two.close()


async def test_failures_are_shared_across_processes(shared: tuple[Failures, Failures]) -> None:
    one, two = shared
    key = f"test:{uuid.uuid4().hex}"
    policy = Backoff(free=2, base=30.0, cap=300.0, window=60.0)
    await one.fail(key, policy)
    await two.fail(key, policy)
    assert 29.0 < await one.wait(key, policy) <= 30.0
    assert 29.0 < await two.wait(key, policy) <= 30.0
    await one.fail(key, policy)
    assert 59.0 < await two.wait(key, policy) <= 60.0
    await two.forget(key)
    assert await one.wait(key, policy) == 0
    await one.mark(key, ttl=0.2)
    assert await two.marked(key)
    await asyncio.sleep(0.3)
    assert not await two.marked(key)


async def test_an_unreachable_redis_falls_back_to_counting_in_memory() -> None:
    from server.ratelimit_redis import RedisFailures

    # A port nobody listens on: every Redis call fails at once.
    failures = RedisFailures("redis://127.0.0.1:1/0")
    policy = Backoff(free=1, base=30.0, cap=300.0, window=60.0)
    try:
        assert await failures.wait("k", policy) == 0
        await failures.fail("k", policy)
        assert 29.0 < await failures.wait("k", policy) <= 30.0
        await failures.mark("m", ttl=60.0)
        assert await failures.marked("m")
    finally:
        await failures.close()
