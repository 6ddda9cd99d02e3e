"""Fixtures of the server tests: settings on the suite's database/bus, a live server, clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from runtime.settings import Settings
from tests.server.live import Api, LiveServer, live_server


@pytest.fixture(autouse=True)
async def fresh_login_limits(redis_url: str | None) -> None:
    """Failed-login counters key on addresses and emails, not on ids: on Redis they would
    carry from one test (and run) to the next, so each test starts without them."""
    if redis_url is None:
        return
    from redis.asyncio import Redis

    from server.ratelimit_redis import DEFAULT_PREFIX

    redis = Redis.from_url(redis_url)
    try:
        keys = [key async for key in redis.scan_iter(f"{DEFAULT_PREFIX}*")]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module to start the server with other limits."""
    return {}


@pytest.fixture
async def server(
    make_settings: Callable[..., Settings], settings_overrides: dict[str, Any]
) -> AsyncIterator[LiveServer]:
    async with live_server(make_settings(**settings_overrides)) as live:
        yield live


@pytest.fixture
async def api(server: LiveServer) -> AsyncIterator[Api]:
    client = Api(server)
    try:
        yield client
    finally:
        await client.close()
