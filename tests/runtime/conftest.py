"""The group-chat harness every conversation test uses: a runtime on the suite's backends."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from store.db import Database
from tests.runtime.group_harness import World, open_world


@pytest.fixture
async def world(db: Database, redis_url: str | None) -> AsyncIterator[World]:
    """A `ConversationRuntime` with a scripted runner on the suite's database, bus and lock."""
    async with open_world(db, redis_url) as opened:
        yield opened
