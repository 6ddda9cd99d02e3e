"""ConversationRuntime as the server uses it: posting, system notes, who may post, bad
policies, and two runtimes (two processes) sharing one conversation."""

from __future__ import annotations

import asyncio

import pytest

from runtime.bus import create_bus
from runtime.conversation import ConversationRuntime
from runtime.locks import create_lock
from runtime.policy import InvalidPolicy
from store.conversations import Conversations
from store.db import Database
from store.errors import NotFound
from store.messages import Messages
from store.models import Group, GroupMember
from store.turns import Turns
from tests.runtime.group_harness import (
    Say,
    ScriptedRunner,
    World,
    add_agent,
    add_room,
    add_user,
    fast_settings,
    of_type,
    record,
)


async def test_a_posted_message_is_stored_before_it_is_announced(world: World) -> None:
    ann = await add_user(world.db, "Ann")
    room = await add_room(world.db, ann)
    async with record(world.bus, room) as recorder:
        posted = await world.post(room, ann, "hello", client_msg_id="c-1", attachments=[{"a": 1}])
        (frame,) = await recorder.until(lambda fs: len(fs) >= 1)
        stored = await Messages(world.db).get(room, frame["seq"])
    assert posted.created and posted.seq == 1
    assert frame == {
        "type": "message",
        "conversation_id": room,
        "seq": 1,
        "message": posted.message,
    }
    assert stored.content == "hello" and stored.attachments == [{"a": 1}]
    author = posted.message["author"]
    assert (author["kind"], author["user_id"], author["name"]) == ("user", ann.id, "Ann")
    assert posted.message["client_msg_id"] == "c-1"


async def test_agent_replies_carry_the_agent_as_author(world: World) -> None:
    ann = await add_user(world.db, "Ann")
    alpha = await add_agent(world.db, "alpha", name="Alpha Bot")
    room = await add_room(world.db, ann, agents=[alpha])
    world.runner.script(alpha, "hi")
    async with record(world.bus, room) as recorder:
        await world.post(room, ann, "hello")
        frames = await recorder.turn_ends(1)
    reply = of_type(frames, "message")[-1]["message"]
    assert reply["author"]["agent_id"] == alpha.id and reply["author"]["name"] == "Alpha Bot"
    assert reply["turn_id"] == of_type(frames, "turn.start")[0]["turn_id"]
    # The scripted model has no price: the server says so rather than guess a cost.
    assert reply["meta"]["usage"] == {
        "input_tokens": 10,
        "output_tokens": 1,
        "cached_tokens": 0,
        "cost": 0.0,
        "priced": False,
    }
    assert reply["meta"]["model"] == "scripted:test"


async def test_system_messages_are_stored_announced_and_answered_by_nobody(world: World) -> None:
    ann = await add_user(world.db, "Ann")
    alpha = await add_agent(world.db, "alpha")
    room = await add_room(world.db, ann, agents=[alpha])
    async with record(world.bus, room) as recorder:
        note = await world.runtime.post_system_message(room, "Ann renamed the room", {"k": 1})
        (frame,) = await recorder.until(lambda fs: len(fs) >= 1)
    await world.idle(room)
    assert frame["message"] == note.message
    assert (note.message["kind"], note.message["author"], note.message["meta"]) == (
        "system",
        None,
        {"k": 1},
    )
    assert world.runner.requests == []


async def test_a_group_member_may_post_and_becomes_a_participant(world: World) -> None:
    ann, cleo = await add_user(world.db, "Ann"), await add_user(world.db, "Cleo")
    async with world.db.session() as session:
        group = Group(name="Team", owner_id=ann.id)
        session.add(group)
        await session.flush()
        session.add(GroupMember(group_id=group.id, kind="user", user_id=cleo.id, added_by=ann.id))
    room = (await Conversations(world.db).create("Team room", ann.id, group_id=group.id)).id
    posted = await world.post(room, cleo, "hi team")
    participant = await Conversations(world.db).participant_for_user(room, cleo.id)
    assert participant is not None and posted.message["author_participant_id"] == participant.id


async def test_a_stranger_cannot_post(world: World) -> None:
    ann, eve = await add_user(world.db, "Ann"), await add_user(world.db, "Eve")
    room = await add_room(world.db, ann)
    with pytest.raises(NotFound):
        await world.post(room, eve, "let me in")
    assert await Messages(world.db).last_seq(room) == 0


async def test_a_bad_stored_policy_is_a_clear_error_before_anything_is_stored(
    world: World,
) -> None:
    ann = await add_user(world.db, "Ann")
    room = await add_room(world.db, ann, policy={"speaker": "loudest"})
    with pytest.raises(InvalidPolicy) as caught:
        await world.post(room, ann, "hello")
    assert caught.value.code == "invalid_policy" and "policy.speaker" in str(caught.value)
    assert await Messages(world.db).last_seq(room) == 0


async def test_waiting_for_a_quiet_conversation_returns_at_once(world: World) -> None:
    await world.runtime.wait_idle("01NOTHINGHAPPENSHERE00000")


async def test_two_processes_take_turns_and_cancel_each_others_turns(
    db: Database, redis_url: str | None
) -> None:
    """Two runtimes as two server processes: separate Redis clients when Redis is configured."""
    ann = await add_user(db, "Ann")
    alpha = await add_agent(db, "alpha")
    room = await add_room(db, ann, agents=[alpha])
    first_reply = Say("Long first answer", hold=asyncio.Event())
    runner = ScriptedRunner()
    runner.script(alpha, first_reply, "Second answer")
    settings = fast_settings()
    shared_bus, shared_lock = create_bus(redis_url), create_lock(redis_url)
    buses = [shared_bus, create_bus(redis_url) if redis_url else shared_bus]
    locks = [shared_lock, create_lock(redis_url) if redis_url else shared_lock]
    for bus in set(buses):
        await bus.start()
    one, two = (
        ConversationRuntime(db, settings, buses[i], locks[i], runner, f"process-{i}")
        for i in (0, 1)
    )
    await one.start()
    await two.start()
    try:
        async with record(buses[0], room) as recorder:
            await one.post_user_message(room, ann.id, "first")
            await first_reply.holding.wait()
            await two.post_user_message(room, ann.id, "second")  # waits for the lease
            assert await two.cancel(room, ann.id) is True  # reaches the turn in process one
            frames = await recorder.turn_ends(2)
            await one.wait_idle(room)
            await two.wait_idle(room)
    finally:
        await one.close()
        await two.close()
        for bus in set(buses):
            await bus.close()
        for lock in set(locks):
            await lock.close()

    kinds = [f["type"] for f in frames if f["type"] in ("turn.start", "turn.end")]
    assert kinds == ["turn.start", "turn.end", "turn.start", "turn.end"]
    assert [f["status"] for f in of_type(frames, "turn.end")] == ["cancelled", "completed"]
    turns = await Turns(db).for_conversation(room)
    assert [t.status for t in turns] == ["cancelled", "completed"]
    assert turns[0].fencing_token is not None and turns[1].fencing_token is not None
    assert turns[1].fencing_token > turns[0].fencing_token
    said = [(m.content, m.status) for m in await Messages(db).after(room)]
    assert said == [
        ("first", "complete"),
        ("second", "complete"),
        ("Long ", "cancelled"),
        ("Second answer", "complete"),
    ]
