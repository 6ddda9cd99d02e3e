"""Cancelling turns: partial replies kept as cancelled, timeouts, shutdown, stale turns, and a
lost lease (fencing)."""

from __future__ import annotations

import asyncio

from store.db import Database
from store.triggers import Triggers
from store.turns import STALE_ERROR, Turns
from tests.runtime.group_harness import (
    Say,
    World,
    add_agent,
    add_room,
    add_user,
    fast_settings,
    of_type,
    open_world,
    record,
)


async def holding_room(world: World, reply: Say, *later: str):
    ann = await add_user(world.db, "Ann")
    alpha = await add_agent(world.db, "alpha")
    room = await add_room(world.db, ann, agents=[alpha])
    world.runner.script(alpha, reply, *later)
    return ann, alpha, room


async def test_cancel_keeps_the_partial_reply_marked_cancelled(world: World) -> None:
    reply = Say("Here is a long answer", hold=asyncio.Event(), hold_after=2)
    ann, _, room = await holding_room(world, reply, "Next answer")
    async with record(world.bus, room) as recorder:
        await world.post(room, ann, "one")
        await reply.holding.wait()
        await world.post(room, ann, "two")  # queued behind the running turn
        start = (await recorder.until(lambda fs: bool(of_type(fs, "turn.start"))))[-1]
        assert await world.runtime.cancel(room, ann.id) is True
        frames = await recorder.turn_ends(2)
    await world.idle(room)

    end = of_type(frames, "turn.end")[0]
    assert (end["turn_id"], end["status"]) == (start["turn_id"], "cancelled")
    deltas = [f["text"] for f in frames if f["type"] == "delta" and f["turn_id"] == end["turn_id"]]
    said = await world.said(room)
    assert said[2] == ("@alpha", "Here is ", "cancelled") and "".join(deltas) == "Here is "
    assert said[3] == ("@alpha", "Next answer", "complete")
    partial = await world.runtime.messages.get(room, end["message_seq"])
    assert partial.meta["cancelled"] == {"by": ann.id, "reason": "cancel", "partial": True}
    assert partial.meta["empty"] is False
    assert (await Turns(world.db).get(end["turn_id"])).status == "cancelled"


async def test_a_turn_cancelled_before_its_first_word_is_stored_empty(world: World) -> None:
    reply = Say("Never said", hold=asyncio.Event(), hold_after=0)
    ann, _, room = await holding_room(world, reply)
    await world.post(room, ann, "one")
    await reply.holding.wait()
    assert await world.runtime.cancel(room, ann.id)
    await world.idle(room)
    message = (await world.transcript(room))[-1]
    assert (message.content, message.status, message.meta["empty"]) == ("", "cancelled", True)


async def test_cancel_only_matches_the_named_turn(world: World) -> None:
    reply = Say("Slow answer", hold=asyncio.Event())
    ann, _, room = await holding_room(world, reply)
    assert await world.runtime.cancel(room, ann.id) is False  # nothing runs yet
    await world.post(room, ann, "one")
    await reply.holding.wait()
    (turn,) = await Turns(world.db).running(room)
    assert await world.runtime.cancel(room, ann.id, turn_id="01SOMEOTHERTURN0000000000") is False
    assert await world.runtime.cancel(room, ann.id, turn_id=turn.id) is True
    await world.idle(room)
    assert (await Turns(world.db).get(turn.id)).status == "cancelled"


async def test_a_turn_that_runs_too_long_fails(db: Database, redis_url: str | None) -> None:
    settings = fast_settings(turn_timeout_seconds=0.2)
    async with open_world(db, redis_url, settings=settings) as world:
        reply = Say("Stuck here", hold=asyncio.Event())
        ann, _, room = await holding_room(world, reply, "Recovered")
        await world.post(room, ann, "one")
        await world.idle(room)
        await world.post(room, ann, "two")
        await world.idle(room)
        said = await world.said(room)
        turns = await Turns(db).for_conversation(room)
    assert said[1] == ("@alpha", "Stuck ", "failed")
    assert said[3] == ("@alpha", "Recovered", "complete")
    assert turns[0].status == "failed" and "timed out" in (turns[0].error or "")


async def test_closing_the_runtime_stores_running_turns_as_cancelled(
    db: Database, redis_url: str | None
) -> None:
    async with open_world(db, redis_url) as world:
        reply = Say("Halfway through", hold=asyncio.Event())
        ann, _, room = await holding_room(world, reply)
        await world.post(room, ann, "one")
        await reply.holding.wait()
    message = (await world.transcript(room))[-1]
    assert (message.content, message.status) == ("Halfway ", "cancelled")
    assert message.meta["cancelled"]["reason"] == "shutdown"
    assert [t.status for t in await Turns(db).for_conversation(room)] == ["cancelled"]


async def test_turns_left_running_by_a_dead_process_are_failed(world: World) -> None:
    ann, alpha, room = await holding_room(world, Say("Fresh"))
    dead = await Turns(world.db).start(room, alpha.id, fencing_token=1)
    await world.post(room, ann, "hello")
    await world.idle(room)
    stale = await Turns(world.db).get(dead.id)
    assert (stale.status, stale.error) == ("failed", STALE_ERROR)
    assert (await world.said(room))[-1] == ("@alpha", "Fresh", "complete")


async def test_a_turn_that_lost_its_lease_stores_nothing(world: World) -> None:
    reply = Say("Too late", hold=asyncio.Event())
    ann, _, room = await holding_room(world, reply)
    await world.post(room, ann, "one")
    await reply.holding.wait()
    (turn,) = await Turns(world.db).running(room)
    # Another process, granted the lease after ours lapsed, claims the conversation.
    claim = await Triggers(world.db).claim(room)
    assert [stale.id for stale in claim.stale] == [turn.id]
    reply.hold.set()  # type: ignore[union-attr]
    await world.idle(room)
    assert [m.content for m in await world.transcript(room)] == ["one"]
    ended = await Turns(world.db).get(turn.id)
    assert (ended.status, ended.error, ended.message_seq) == ("failed", STALE_ERROR, None)
    assert claim.fence > (ended.fencing_token or 0)
