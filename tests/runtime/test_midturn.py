"""A human message that arrives while an agent is replying: queue, interrupt, reject, coalesce."""

from __future__ import annotations

import asyncio

import pytest

from runtime.conversation import Busy
from store.messages import Messages
from store.turns import Turns
from tests.runtime.group_harness import Say, World, add_agent, add_room, add_user


async def busy_room(world: World, policy: dict[str, str], *later: str):
    """A room whose agent is holding its first reply when this returns."""
    ann = await add_user(world.db, "Ann")
    alpha = await add_agent(world.db, "alpha")
    room = await add_room(world.db, ann, agents=[alpha], policy=policy)
    hold = asyncio.Event()
    first = Say("Working on it", hold=hold)
    world.runner.script(alpha, first, *later)
    await world.post(room, ann, "one", client_msg_id="c-1")
    await first.holding.wait()
    return ann, room, hold


async def test_queue_answers_the_new_message_after_the_running_turn(world: World) -> None:
    ann, room, hold = await busy_room(world, {}, "Second answer")
    queued = await world.post(room, ann, "two")
    assert queued.seq == 2
    hold.set()
    await world.idle(room)
    assert await world.said(room) == [
        ("Ann", "one", "complete"),
        ("Ann", "two", "complete"),
        ("@alpha", "Working on it", "complete"),
        ("@alpha", "Second answer", "complete"),
    ]
    turns = await Turns(world.db).for_conversation(room)
    assert [t.trigger_seq for t in turns] == [1, 2]


async def test_interrupt_cancels_the_running_turn_and_keeps_its_partial(world: World) -> None:
    ann, room, _ = await busy_room(world, {"mid_turn": "interrupt"}, "Fresh answer")
    await world.post(room, ann, "never mind, two")
    await world.idle(room)
    said = await world.said(room)
    assert said == [
        ("Ann", "one", "complete"),
        ("Ann", "never mind, two", "complete"),
        ("@alpha", "Working ", "cancelled"),
        ("@alpha", "Fresh answer", "complete"),
    ]
    partial = (await world.transcript(room))[2]
    assert partial.meta["cancelled"] == {
        "by": ann.id,
        "reason": "interrupt",
        "seq": 2,
        "partial": True,
    }
    statuses = [t.status for t in await Turns(world.db).for_conversation(room)]
    assert statuses == ["cancelled", "completed"]


async def test_reject_refuses_before_storing_anything(world: World) -> None:
    ann, room, hold = await busy_room(world, {"mid_turn": "reject"}, "Second answer")
    with pytest.raises(Busy) as caught:
        await world.post(room, ann, "two")
    assert caught.value.code == "turn_in_progress"
    assert await Messages(world.db).last_seq(room) == 1
    retry = await world.post(room, ann, "one", client_msg_id="c-1")
    assert (retry.created, retry.seq) == (False, 1)

    hold.set()
    await world.idle(room)
    accepted = await world.post(room, ann, "two")
    await world.idle(room)
    assert accepted.seq == 3
    assert [who for who, *_ in await world.said(room)] == ["Ann", "@alpha", "Ann", "@alpha"]


async def test_coalesce_answers_everything_that_queued_up_in_one_trigger(world: World) -> None:
    ann, room, hold = await busy_room(world, {"mid_turn": "coalesce"}, "Both answered")
    await world.post(room, ann, "two")
    await world.post(room, ann, "three")
    hold.set()
    await world.idle(room)
    assert [who for who, *_ in await world.said(room)] == ["Ann", "Ann", "Ann", "@alpha", "@alpha"]
    turns = await Turns(world.db).for_conversation(room)
    assert [t.trigger_seq for t in turns] == [1, 3]


async def test_coalesced_mentions_all_count(world: World) -> None:
    ann, bob = await add_user(world.db, "Ann"), await add_user(world.db, "Bob")
    alpha, beta = await add_agent(world.db, "alpha"), await add_agent(world.db, "beta")
    room = await add_room(
        world.db, ann, users=[bob], agents=[alpha, beta], policy={"mid_turn": "coalesce"}
    )
    hold = asyncio.Event()
    first = Say("Hmm", hold=hold)
    world.runner.script(alpha, first, "alpha again")
    world.runner.script(beta, "beta here")
    await world.post(room, ann, "@alpha one")
    await first.holding.wait()
    await world.post(room, bob, "@beta two")
    await world.post(room, ann, "three, @alpha")
    hold.set()
    await world.idle(room)
    speakers = [who for who, *_ in await world.said(room)][3:]
    assert speakers == ["@alpha", "@beta", "@alpha"]
