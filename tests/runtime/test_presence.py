"""Conformance of every presence backend: join, leave, distinct users, expiry, heartbeats."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from runtime.presence import InProcessPresence, Presence, RedisPresence, create_presence

ADA = {"id": "user-ada", "name": "Ada"}
BOB = {"id": "user-bob", "name": "Bob"}


PresenceFactory = Callable[..., Presence]


@pytest.fixture(params=["memory", "redis"])
async def make(
    request: pytest.FixtureRequest, redis_url: str | None
) -> AsyncIterator[PresenceFactory]:
    """Builds presence handles on one backend; closes them after the test."""
    if request.param == "redis" and not redis_url:
        pytest.skip("REDIS_URL is not set: Redis presence runs in the PostgreSQL+Redis pass")
    made: list[Presence] = []

    def build(**options: Any) -> Presence:
        if request.param == "memory":
            presence: Presence = InProcessPresence(**options)
        else:
            presence = RedisPresence(str(redis_url), **options)
        made.append(presence)
        return presence

    yield build
    for presence in made:
        await presence.close()


@pytest.fixture
def pair(make: PresenceFactory) -> tuple[Presence, Presence]:
    """Two processes' handles on the backend (in-process has no other process: one handle)."""
    here = make()
    there = make() if isinstance(here, RedisPresence) else here
    return here, there


def conversation() -> str:
    return f"conversation-{uuid.uuid4().hex}"


async def test_join_and_leave(pair: tuple[Presence, Presence]) -> None:
    here, there = pair
    room = conversation()
    await here.join(room, ADA, "socket-1")
    await there.join(room, BOB, "socket-2")
    assert await here.members(room) == [ADA, BOB]
    await there.leave(room, "socket-2")
    assert await here.members(room) == [ADA]
    assert await there.members(conversation()) == []


async def test_a_user_with_several_connections_counts_once(pair: tuple[Presence, Presence]) -> None:
    here, there = pair
    room = conversation()
    await here.join(room, ADA, "laptop")
    await there.join(room, ADA, "phone")
    assert await here.members(room) == [ADA]
    await here.leave(room, "laptop")
    assert await there.members(room) == [ADA]  # still on the phone
    await there.leave(room, "phone")
    assert await here.members(room) == []


async def test_leave_all_removes_a_closed_socket_everywhere(
    pair: tuple[Presence, Presence],
) -> None:
    presence, _ = pair
    rooms = [conversation(), conversation()]
    for room in rooms:
        await presence.join(room, BOB, "socket")
    assert sorted(await presence.leave_all("socket")) == sorted(rooms)
    for room in rooms:
        assert await presence.members(room) == []


@dataclass
class UserRow:
    id: str
    name: str


async def test_users_may_be_rows_or_mappings(pair: tuple[Presence, Presence]) -> None:
    presence, _ = pair
    room = conversation()
    await presence.join(room, UserRow("user-cy", "Cy"), "socket")
    assert await presence.members(room) == [{"id": "user-cy", "name": "Cy"}]
    with pytest.raises(ValueError, match="user with an id"):
        await presence.join(room, {"name": "nobody"}, "socket-2")


async def test_connections_expire_without_heartbeats(make: PresenceFactory) -> None:
    presence = make(ttl=0.3, refresh=False)  # as if its process had died
    room = conversation()
    await presence.join(room, ADA, "socket")
    assert await presence.members(room) == [ADA]
    await asyncio.sleep(0.6)
    assert await presence.members(room) == []


async def test_heartbeats_keep_connections_alive(make: PresenceFactory) -> None:
    presence = make(ttl=0.6, heartbeat_interval=0.1)
    room = conversation()
    await presence.join(room, ADA, "socket")
    await asyncio.sleep(1.2)
    assert await presence.members(room) == [ADA]


async def test_explicit_heartbeat_refreshes(make: PresenceFactory) -> None:
    presence = make(ttl=0.6, refresh=False)
    room = conversation()
    await presence.join(room, ADA, "socket")
    for _ in range(4):
        await asyncio.sleep(0.25)
        await presence.heartbeat("socket")
    assert await presence.members(room) == [ADA]


@pytest.fixture
def require_redis(redis_url: str | None) -> str:
    if not redis_url:
        pytest.skip("REDIS_URL is not set: Redis presence runs in the PostgreSQL+Redis pass")
    return redis_url


async def test_a_dead_process_connections_vanish(require_redis: str) -> None:
    dead = RedisPresence(require_redis, ttl=0.3, refresh=False)
    alive = RedisPresence(require_redis)
    room = conversation()
    try:
        await dead.join(room, ADA, "socket-on-dead-process")
        await alive.join(room, BOB, "socket")
        assert await alive.members(room) == [ADA, BOB]
        await asyncio.sleep(0.6)
        assert await alive.members(room) == [BOB]
    finally:
        await alive.close()
        await dead.close()


async def test_closing_a_process_removes_its_connections_at_once(require_redis: str) -> None:
    closing = RedisPresence(require_redis)
    observer = RedisPresence(require_redis)
    room = conversation()
    try:
        await closing.join(room, ADA, "socket")
        assert await observer.members(room) == [ADA]
        await closing.close()
        assert await observer.members(room) == []
    finally:
        await observer.close()


def test_create_presence_picks_the_backend_by_url() -> None:
    assert isinstance(create_presence(None), InProcessPresence)
    assert isinstance(create_presence("redis://127.0.0.1:1/0"), RedisPresence)
