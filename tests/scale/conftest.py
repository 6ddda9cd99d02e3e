"""Fixtures for the scale-out tests: a fake model endpoint and real server processes.

They need PostgreSQL and Redis (`DATABASE_URL`, `REDIS_URL`) and are skipped otherwise: SQLite
and the in-process bus are single-process backends by design.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from tests.scale.cluster import FakeModel, Process, ServerProcess

LEASE_SECONDS = "2"
DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")

StartCluster = Callable[..., Awaitable[tuple[ServerProcess, ServerProcess]]]


@pytest.fixture
def scale_database(database_url: str) -> str:
    """The migrated, emptied PostgreSQL database the server processes share."""
    if not (DATABASE_URL.startswith("postgres") and REDIS_URL):
        pytest.skip("two-process tests need DATABASE_URL=postgresql://... and REDIS_URL")
    return database_url


@pytest.fixture
async def start_cluster(scale_database: str, tmp_path: Path) -> AsyncIterator[StartCluster]:
    """Starts a fake model and two server processes (A, then B) on one database and Redis."""
    started: list[Process] = []
    model = FakeModel(tmp_path)
    started.append(model)

    async def start(redis_url: str = REDIS_URL) -> tuple[ServerProcess, ServerProcess]:
        env = {
            "DATABASE_URL": scale_database,
            "REDIS_URL": redis_url,
            "OPENAI_BASE_URL": model.base_url,
            "OPENAI_API_KEY": "test-key",
            "ELEVATE_LEASE_SECONDS": LEASE_SECONDS,
        }
        a, b = ServerProcess("a", tmp_path, env), ServerProcess("b", tmp_path, env)
        started.extend([a, b])
        # B starts once A is up: the first start loads the built-in agents into the database.
        await asyncio.gather(model.ready(), a.ready())
        await b.ready()
        return a, b

    try:
        yield start
    finally:
        for process in reversed(started):
            process.stop()
