"""Hand-offs: allowed only along `delegates_to`, bounded in depth, never in a cycle; an accepted
one is a nested turn with its own stored message, and a refusal does not end the caller's turn."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from store.conversations import Conversations
from store.db import Database
from store.models import Agent
from store.turns import Turns
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


@pytest.fixture
async def world(db: Database, redis_url: str | None) -> AsyncIterator[World]:
    async with open_world(db, redis_url, settings=fast_settings(max_delegation_depth=2)) as w:
        yield w


async def team(db: Database) -> tuple[Agent, Agent, Agent]:
    """alpha -> beta -> gamma -> alpha may delegate; gamma may also go back to alpha."""
    gamma = await add_agent(db, "gamma", description="crunches numbers")
    beta = await add_agent(db, "beta", description="researches", delegates_to=[gamma.id])
    alpha = await add_agent(db, "alpha", description="leads", delegates_to=[beta.id])
    async with db.session() as session:
        row = await session.get(Agent, gamma.id)
        assert row is not None
        row.delegates_to = [alpha.id]
    return alpha, beta, gamma


async def test_an_allowed_hand_off_is_a_visible_nested_turn(world: World) -> None:
    ann = await add_user(world.db, "Ann")
    alpha, beta, _ = await team(world.db)
    room = await add_room(world.db, ann, agents=[alpha, beta], policy={"speaker": "mentions"})
    world.runner.script(alpha, Say("Beta says: done.", delegate=("@beta", "find the figures")))
    world.runner.script(beta, "The figures are 42.")
    async with record(world.bus, room) as recorder:
        await world.post(room, ann, "@alpha report please")
        frames = await recorder.turn_ends(2)
    await world.idle(room)

    assert world.runner.answers == ["The figures are 42."]
    starts = of_type(frames, "turn.start")
    assert [s["agent"]["handle"] for s in starts] == ["alpha", "beta"]
    assert starts[0]["parent_turn_id"] is None
    assert starts[1]["parent_turn_id"] == starts[0]["turn_id"]
    ends = of_type(frames, "turn.end")
    assert [e["turn_id"] for e in ends] == [starts[1]["turn_id"], starts[0]["turn_id"]]
    assert await world.said(room) == [
        ("Ann", "@alpha report please", "complete"),
        ("@beta", "The figures are 42.", "complete"),
        ("@alpha", "Beta says: done.", "complete"),
    ]
    nested = world.runner.requests[1]
    assert (nested.task, nested.delegation_depth, nested.delegation_chain) == (
        "find the figures",
        1,
        (alpha.id,),
    )
    assert nested.user_id == ann.id
    child = await Turns(world.db).get(starts[1]["turn_id"])
    assert child.parent_turn_id == starts[0]["turn_id"]
    beta_message = (await world.transcript(room))[1]
    assert beta_message.meta["parent_turn_id"] == starts[0]["turn_id"]


async def test_a_delegate_outside_the_room_joins_as_an_observer(world: World) -> None:
    ann = await add_user(world.db, "Ann")
    alpha, beta, _ = await team(world.db)
    room = await add_room(world.db, ann, agents=[alpha])
    world.runner.script(alpha, Say("Asked beta.", delegate=("beta", "look it up")), "Me again.")
    world.runner.script(beta, "Looked it up.")
    async with record(world.bus, room) as recorder:
        await world.post(room, ann, "hello")
        frames = await recorder.turn_ends(2)
    await world.idle(room)
    (added,) = of_type(frames, "participant.added")
    assert (added["agent_id"], added["role"]) == (beta.id, "observer")
    joined = await Conversations(world.db).participant_for_agent(room, beta.id)
    assert joined is not None and joined.role == "observer"

    # Beta answered once, under its own name; the room still routes to alpha alone.
    await world.post(room, ann, "and now?")
    await world.idle(room)
    speakers = [who for who, *_ in await world.said(room) if who != "Ann"]
    assert speakers == ["@beta", "@alpha", "@alpha"]


@pytest.mark.parametrize(
    ("script", "refusal"),
    [
        ("not_a_delegate", "it is not in its delegates_to"),
        ("unknown", "there is no agent @nobody"),
        ("cycle", "delegation cycle"),
        ("too_deep", "exceeds the limit of 2"),
    ],
)
async def test_refused_hand_offs_come_back_as_errors_and_the_turn_goes_on(
    world: World, script: str, refusal: str
) -> None:
    ann = await add_user(world.db, "Ann")
    alpha, beta, gamma = await team(world.db)
    room = await add_room(
        world.db, ann, agents=[alpha, beta, gamma], policy={"speaker": "mentions"}
    )
    runner = world.runner
    if script == "not_a_delegate":
        runner.script(alpha, Say("I'll do it myself.", delegate=("gamma", "sum")))
    elif script == "unknown":
        runner.script(alpha, Say("I'll do it myself.", delegate=("nobody", "sum")))
    elif script == "cycle":
        # alpha -> beta -> gamma -> alpha: alpha is already in the chain.
        world.runner.script(alpha, Say("I'll do it myself.", delegate=("beta", "a")))
        world.runner.script(beta, Say("b", delegate=("gamma", "b")))
        world.runner.script(gamma, Say("c", delegate=("alpha", "c")))
    else:
        # Depth 2 is the limit: alpha -> beta (1) -> gamma (2) -> alpha would be 3; make it
        # gamma's own hand-off to a fresh agent so only depth is at fault.
        delta = await add_agent(world.db, "delta")
        async with world.db.session() as session:
            row = await session.get(Agent, gamma.id)
            assert row is not None
            row.delegates_to = [delta.id]
        world.runner.script(alpha, Say("I'll do it myself.", delegate=("beta", "a")))
        world.runner.script(beta, Say("b", delegate=("gamma", "b")))
        world.runner.script(gamma, Say("c", delegate=("delta", "c")))
    await world.post(room, ann, "@alpha go")
    await world.idle(room)

    refused = [a for a in runner.answers if a.startswith("DelegationRefused")]
    assert len(refused) == 1 and refusal in refused[0]
    said = await world.said(room)
    assert said[-1] == ("@alpha", "I'll do it myself.", "complete")
    assert all(status == "complete" for *_, status in said)


async def test_delegated_turns_count_against_the_loop_guard(
    db: Database, redis_url: str | None
) -> None:
    async with open_world(db, redis_url) as world:
        ann = await add_user(db, "Ann")
        alpha, beta, _ = await team(db)
        room = await add_room(db, ann, agents=[alpha, beta], policy={"max_agent_turns": 1})
        world.runner.script(alpha, Say("Alone.", delegate=("beta", "help")))
        await world.post(room, ann, "@alpha go")
        await world.idle(room)
    assert "max_agent_turns" in world.runner.answers[0]
    assert [who for who, *_ in await world.said(room)] == ["Ann", "@alpha"]


async def test_cancelling_the_caller_cancels_its_delegate(world: World) -> None:
    ann = await add_user(world.db, "Ann")
    alpha, beta, _ = await team(world.db)
    room = await add_room(world.db, ann, agents=[alpha, beta], policy={"speaker": "mentions"})
    slow = Say("Digging deep", hold=asyncio.Event())
    world.runner.script(alpha, Say("unused", delegate=("beta", "dig")))
    world.runner.script(beta, slow)
    await world.post(room, ann, "@alpha go")
    await slow.holding.wait()
    assert await world.runtime.cancel(room, ann.id)
    await world.idle(room)
    said = await world.said(room)
    assert said[1:] == [("@beta", "Digging ", "cancelled"), ("@alpha", "", "cancelled")]
    beta_message, alpha_message = (await world.transcript(room))[1:]
    assert alpha_message.meta["cancelled"] == {"by": ann.id, "reason": "cancel", "partial": True}
    assert beta_message.meta["cancelled"] == {
        "by": ann.id,
        "reason": "cancel",
        "parent_turn_id": alpha_message.turn_id,
        "partial": True,
    }
    assert [t.status for t in await Turns(world.db).for_conversation(room)] == [
        "cancelled",
        "cancelled",
    ]
