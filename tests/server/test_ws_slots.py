"""Socket slots: the per-user cap as one process or several on Redis count it."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from server.ws.slots import MemorySlots, create_slots


async def test_memory_slots_cap_and_give_back() -> None:
    slots = MemorySlots()
    assert await slots.acquire("u", "c1", 2) and await slots.acquire("u", "c2", 2)
    assert not await slots.acquire("u", "c3", 2)
    assert await slots.acquire("u", "c1", 2)  # a connection already holding one keeps it
    await slots.release("u", "c1")
    assert await slots.acquire("u", "c3", 2)
    assert await slots.acquire("v", "c4", 2)


async def test_redis_slots_are_shared_refreshed_and_expire(redis_url: str | None) -> None:
    if redis_url is None:
        pytest.skip("needs REDIS_URL")
    from server.ws.slots_redis import RedisSlots

    user = f"user-{uuid.uuid4().hex}"
    one, two = RedisSlots(redis_url, ttl=0.6), RedisSlots(redis_url, ttl=0.6)
    try:
        await one.start()
        assert await one.acquire(user, "a", 2) and await two.acquire(user, "b", 2)
        assert not await one.acquire(user, "c", 2)
        # `one` refreshes its slot; `two` never does (as if its process died): it lapses.
        await asyncio.sleep(1.0)
        assert await two.acquire(user, "d", 2)
        assert not await two.acquire(user, "e", 2)  # `a` is still held, refreshed by `one`
        await one.release(user, "a")
        assert await two.acquire(user, "e", 2)
    finally:
        await one.close()
        await two.close()


def test_the_backend_follows_the_url() -> None:
    assert isinstance(create_slots(None), MemorySlots)
