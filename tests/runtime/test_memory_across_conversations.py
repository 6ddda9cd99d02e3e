"""An agent remembers a fact for a user in one conversation and recalls it in another, for the
same user only; the real runner, built-in memory tools and the offline model."""

from __future__ import annotations

from store.db import Database
from tests.runtime.group_harness import (
    add_agent,
    add_room,
    add_user,
    grant,
    offline_settings,
    open_world,
    real_runner,
)


async def test_a_memory_follows_its_user_into_other_conversations(
    db: Database, redis_url: str | None
) -> None:
    settings = offline_settings()
    async with open_world(db, redis_url, runner=real_runner(db, settings), settings=settings) as w:
        ann, bob = await add_user(db, "Ann"), await add_user(db, "Bob")
        keeper = await add_agent(db, "keeper", model="offline:default")
        await grant(db, keeper, "remember", "recall")

        first = await add_room(db, ann, agents=[keeper])
        await w.post(first, ann, "remember my locker code is 4411")
        await w.idle(first)

        again = await add_room(db, ann, agents=[keeper])
        await w.post(again, ann, "recall locker code")
        await w.idle(again)

        other = await add_room(db, bob, agents=[keeper])
        await w.post(other, bob, "recall locker code")
        await w.idle(other)

        remembered = await w.said(first)
        recalled = await w.said(again)
        not_recalled = await w.said(other)

    assert remembered[-1][0] == "@keeper" and remembered[-1][2] == "complete"
    assert "remember returned" in remembered[-1][1]
    assert recalled[-1][0] == "@keeper" and "4411" in recalled[-1][1]
    assert not_recalled[-1][0] == "@keeper" and "4411" not in not_recalled[-1][1]
    assert "recall returned" in not_recalled[-1][1]
