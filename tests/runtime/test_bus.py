"""Conformance of every event bus backend, plus Redis outages for the Redis one."""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from redis.asyncio import Redis

from runtime.bus import EventBus, InProcessBus, Subscription, create_bus
from runtime.bus_redis import RedisBus
from tests.scale.redis_server import RedisServer, free_port

BACKENDS = ["memory", "redis"]
WAIT = 10.0  # a bound on waiting for delivery, never a claim about speed


def make_bus(backend: str, redis_url: str | None, queue_size: int = 1000) -> EventBus:
    if backend == "memory":
        return InProcessBus(queue_size)
    if not redis_url:
        pytest.skip("REDIS_URL is not set: the Redis bus runs in the PostgreSQL+Redis pass")
    return RedisBus(redis_url, queue_size)


@pytest.fixture(params=BACKENDS)
async def buses(request: pytest.FixtureRequest, redis_url: str | None) -> AsyncIterator[tuple]:
    """A publishing bus and a listening bus sharing one backend: two processes' worth for
    Redis, one bus for in-process (which has no other process to reach)."""
    first = make_bus(request.param, redis_url)
    second = first if request.param == "memory" else make_bus(request.param, redis_url)
    try:
        yield first, second
    finally:
        await first.close()
        if second is not first:
            await second.close()


def channel() -> str:
    return f"test-{uuid.uuid4().hex}"


async def take(subscription: Subscription, count: int) -> list[dict]:
    async def collect() -> list[dict]:
        events = []
        async for event in subscription:
            events.append(event)
            if len(events) == count:
                break
        return events

    return await asyncio.wait_for(collect(), WAIT)


async def until(condition: Callable[[], Awaitable[bool] | bool]) -> None:
    """Wait, within `WAIT`, for a condition that other tasks or processes make true."""
    async with asyncio.timeout(WAIT):
        while True:
            result = condition()
            if await result if inspect.isawaitable(result) else result:
                return
            await asyncio.sleep(0.01)


async def test_events_arrive_in_publish_order(buses: tuple[EventBus, EventBus]) -> None:
    publisher, listener = buses
    name = channel()
    subscription = await listener.subscribe(name)
    for n in range(200):
        await publisher.publish(name, {"type": "delta", "n": n})
    events = await take(subscription, 200)
    assert [event["n"] for event in events] == list(range(200))


async def test_every_subscriber_gets_every_event(buses: tuple[EventBus, EventBus]) -> None:
    publisher, listener = buses
    name = channel()
    near = await publisher.subscribe(name)
    far = [await listener.subscribe(name), await listener.subscribe(name)]
    await publisher.publish(name, {"type": "message", "seq": 1, "message": {"content": "héllo"}})
    await publisher.publish(name, {"type": "message", "seq": 2, "message": {"content": None}})
    for subscription in [near, *far]:
        events = await take(subscription, 2)
        assert [event["seq"] for event in events] == [1, 2]
        assert events[0]["message"] == {"content": "héllo"}


async def test_events_stay_on_their_channel(buses: tuple[EventBus, EventBus]) -> None:
    publisher, listener = buses
    mine, other = channel(), channel()
    subscription = await listener.subscribe(mine)
    await publisher.publish(other, {"type": "delta", "text": "not for you"})
    await publisher.publish(mine, {"type": "delta", "text": "for you"})
    assert await take(subscription, 1) == [{"type": "delta", "text": "for you"}]


async def test_every_process_sees_one_order(buses: tuple[EventBus, EventBus]) -> None:
    first, second = buses
    name = channel()
    near, far = await first.subscribe(name), await second.subscribe(name)
    for n in range(0, 40, 2):
        await first.publish(name, {"type": "delta", "n": n})
        await second.publish(name, {"type": "delta", "n": n + 1})
    for subscription in (near, far):
        assert [event["n"] for event in await take(subscription, 40)] == list(range(40))


async def test_unsubscribe_ends_the_subscription(buses: tuple[EventBus, EventBus]) -> None:
    publisher, listener = buses
    name = channel()
    leaving = await listener.subscribe(name)
    staying = await listener.subscribe(name)
    await listener.unsubscribe(leaving)
    await publisher.publish(name, {"type": "delta", "n": 1})
    assert await take(staying, 1) == [{"type": "delta", "n": 1}]
    assert await take(leaving, 1) == []
    assert leaving.closed


async def test_overflow_marks_the_subscriber(buses: tuple[EventBus, EventBus]) -> None:
    publisher, listener = buses
    listener.queue_size = 3
    name = channel()
    subscription = await listener.subscribe(name)
    for n in range(5):
        await publisher.publish(name, {"type": "delta", "n": n})
    await until(lambda: subscription.overflowed)
    assert [event["n"] for event in await take(subscription, 5)] == [0, 1, 2]


async def test_a_callback_gets_every_event_in_order_beside_iterators(
    buses: tuple[EventBus, EventBus],
) -> None:
    publisher, listener = buses
    name = channel()
    received: list[int] = []
    called = await listener.subscribe(name, lambda event: received.append(event["n"]))
    iterated = await listener.subscribe(name)
    for n in range(50):
        await publisher.publish(name, {"type": "delta", "n": n})
    assert [event["n"] for event in await take(iterated, 50)] == list(range(50))
    await until(lambda: len(received) == 50)
    assert received == list(range(50))
    with pytest.raises(TypeError):
        await take(called, 1)
    await listener.unsubscribe(called)
    await publisher.publish(name, {"type": "delta", "n": 50})
    assert [event["n"] for event in await take(iterated, 1)] == [50]
    assert received == list(range(50))


async def test_a_failing_callback_costs_no_one_else_their_events(
    buses: tuple[EventBus, EventBus], caplog: pytest.LogCaptureFixture
) -> None:
    publisher, listener = buses
    name = channel()

    def broken(event: dict) -> None:
        raise RuntimeError("broken subscriber")

    await listener.subscribe(name, broken)
    received: list[int] = []
    await listener.subscribe(name, lambda event: received.append(event["n"]))
    await publisher.publish(name, {"type": "delta", "n": 1})
    await publisher.publish(name, {"type": "delta", "n": 2})
    await until(lambda: received == [1, 2])
    assert "event callback failed" in caplog.text


async def test_create_bus_picks_the_backend_by_url() -> None:
    assert isinstance(create_bus(None), InProcessBus)
    bus = create_bus("redis://127.0.0.1:1/0")
    assert isinstance(bus, RedisBus)
    await bus.close()


@pytest.fixture
def require_redis(redis_url: str | None) -> str:
    if not redis_url:
        pytest.skip("REDIS_URL is not set: the Redis bus runs in the PostgreSQL+Redis pass")
    return redis_url


async def test_redis_bus_stops_listening_after_the_last_unsubscribe(require_redis: str) -> None:
    bus = RedisBus(require_redis)
    client = Redis.from_url(require_redis)
    try:
        name = channel()
        first, second = await bus.subscribe(name), await bus.subscribe(name)
        assert await client.pubsub_numsub(bus.prefix + name) == [((bus.prefix + name).encode(), 1)]
        await bus.unsubscribe(first)
        await bus.unsubscribe(second)

        async def nobody_listens() -> bool:
            return (await client.pubsub_numsub(bus.prefix + name))[0][1] == 0

        await until(nobody_listens)
    finally:
        await client.aclose()
        await bus.close()


async def test_redis_bus_ignores_foreign_payloads(require_redis: str) -> None:
    bus = RedisBus(require_redis)
    client = Redis.from_url(require_redis)
    try:
        name = channel()
        subscription = await bus.subscribe(name)
        await client.publish(bus.prefix + name, "not json")
        await client.publish(bus.prefix + name, "[1, 2]")
        await bus.publish(name, {"type": "delta", "n": 1})
        other = RedisBus(require_redis)
        await other.publish(name, {"type": "delta", "n": 2})
        await other.close()
        assert [event["n"] for event in await take(subscription, 2)] == [1, 2]
    finally:
        await client.aclose()
        await bus.close()


async def test_publish_without_redis_logs_and_still_delivers_locally(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = RedisBus(f"redis://127.0.0.1:{free_port()}/0", max_backoff=0.1)
    try:
        subscription = await bus.subscribe("conversation")
        await bus.publish("conversation", {"type": "delta", "text": "kept"})
        assert await take(subscription, 1) == [{"type": "delta", "text": "kept"}]
        assert "not published to Redis" in caplog.text
        assert not bus.connected
    finally:
        await bus.close()


@pytest.mark.skipif(not RedisServer.available(), reason="redis-server is not installed")
async def test_redis_bus_reconnects_after_a_redis_restart(tmp_path: Path) -> None:
    server = RedisServer(tmp_path)
    server.start()
    publisher = RedisBus(server.url, max_backoff=0.2)
    listener = RedisBus(server.url, max_backoff=0.2)
    try:
        name = channel()
        subscription = await listener.subscribe(name)
        await publisher.publish(name, {"type": "delta", "n": 1})
        assert await take(subscription, 1) == [{"type": "delta", "n": 1}]

        server.kill()
        await until(lambda: not listener.connected)
        await publisher.publish(name, {"type": "delta", "n": "lost"})  # logged, not raised
        late = await listener.subscribe(channel())  # a channel first seen during the outage
        server.start()
        await asyncio.wait_for(listener.wait_connected(), WAIT)

        await publisher.publish(name, {"type": "delta", "n": 2})
        await publisher.publish(late.channel, {"type": "delta", "n": 3})
        assert await take(subscription, 1) == [{"type": "delta", "n": 2}]
        assert await take(late, 1) == [{"type": "delta", "n": 3}]
    finally:
        await publisher.close()
        await listener.close()
        server.kill()
