"""A task cancelled in the middle of a session (a client that vanished mid-frame) must leave
the pool's connections usable for every session after it."""

from __future__ import annotations

import asyncio
import random

from sqlalchemy import select

from store.db import Database
from store.models import User
from tests.store import factories


async def test_sessions_after_cancelled_ones_still_begin(db: Database) -> None:
    rng = random.Random(7)
    user = await factories.user(db)

    async def read() -> None:
        async with db.read() as session:
            await session.scalar(select(User.id).where(User.id == user.id))

    failures = []
    for _ in range(200):
        task = asyncio.create_task(read())
        for _ in range(rng.randint(0, 6)):  # cancelled at every step of checkout and BEGIN
            await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        try:
            async with db.session() as session:
                assert await session.scalar(select(User.name).where(User.id == user.id))
        except Exception as exc:
            failures.append(type(exc).__name__)
    assert failures == []
