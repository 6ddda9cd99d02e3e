"""Queue SQLite transactions in the process (FIFO, an asyncio lock) instead of in SQLite's
busy handler, which sleeps with backoff (up to 100 ms a try) rather than waking on release.

Every transaction already takes SQLite's write lock (`BEGIN IMMEDIATE`), so this changes only
how waiters wait. Measure with
`BENCH_SERVER_APP=bench.experiments.sqlite_fifo:create python -m bench --only 3`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bench.server_app import create as create_bench_app


def create() -> Any:
    from store.db import Database

    original = Database.session
    locks: dict[int, asyncio.Lock] = {}
    holder: dict[int, asyncio.Task[Any] | None] = {}

    @asynccontextmanager
    async def session(self: Database) -> AsyncIterator[Any]:
        task = asyncio.current_task()
        if not self.is_sqlite or holder.get(id(self)) is task:
            async with original(self) as inner:
                yield inner
            return
        lock = locks.setdefault(id(self), asyncio.Lock())
        async with lock:
            holder[id(self)] = task
            try:
                async with original(self) as inner:
                    yield inner
            finally:
                holder[id(self)] = None

    Database.session = session  # type: ignore[method-assign]
    return create_bench_app()
