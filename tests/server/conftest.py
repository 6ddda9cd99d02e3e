"""Fixtures of the server tests: settings on the suite's database/bus, a live server, clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from runtime.settings import Settings
from tests.server.live import Api, LiveServer, live_server


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
