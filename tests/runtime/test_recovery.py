"""Durable triggers: what a dead process left behind is answered once, and its turns end.

A "dead process" here is one whose writes are in the database and whose memory is gone: its
messages are stored as the runtime stores them (owed an answer), its turns left `running`. A
runtime started afterwards (a restart, or a surviving process) must answer each owed message
exactly once, end and announce the dead turns, and never answer an answered message again.
"""

from __future__ import annotations

import time

from runtime.conversation import ConversationRuntime
from store.conversations import Conversations
from store.db import Database
from store.messages import Messages
from store.models import Agent, User
from store.regenerations import REGENERATE_TYPE, regenerate_target
from store.triggers import STALE_ERROR
from store.turns import Turns
from tests.runtime.group_harness import (
    Say,
    ScriptedRunner,
    World,
    add_agent,
    add_room,
    add_user,
    backends,
    fast_settings,
    of_type,
    open_world,
    record,
)


async def one_agent_room(db: Database) -> tuple[User, Agent, str]:
    ann = await add_user(db, "Ann")
    alpha = await add_agent(db, "alpha")
    return ann, alpha, await add_room(db, ann, agents=[alpha])


async def stored_by_dead_process(db: Database, room: str, user: User, text: str, msg_id: str):
    """A message acknowledged by a process that died before it ran the turn."""
    participant = await Conversations(db).participant_for_user(room, user.id)
    assert participant is not None
    appended = await Messages(db).append(
        room,
        text,
        author_participant_id=participant.id,
        client_msg_id=msg_id,
        created_by=user.id,
        triggers=True,
    )
    return appended.message


async def test_a_message_a_dead_process_acknowledged_is_answered_once_after_a_restart(
    db: Database, redis_url: str | None
) -> None:
    ann, alpha, room = await one_agent_room(db)
    first = await stored_by_dead_process(db, room, ann, "are you there?", "m-1")
    second = await stored_by_dead_process(db, room, ann, "and now?", "m-2")

    async with open_world(db, redis_url) as world:
        world.runner.script(alpha, "Yes, here.", "Still here.")
        await world.idle(room)  # the start's sweep woke the worker
        resent = await world.post(room, ann, "and now?", client_msg_id="m-2")
        await world.idle(room)

    assert (resent.seq, resent.created) == (second.seq, False)
    said = [(who, text) for who, text, _ in await world.said(room)]
    assert said == [
        ("Ann", "are you there?"),
        ("Ann", "and now?"),
        ("@alpha", "Yes, here."),
        ("@alpha", "Still here."),
    ]
    turns = await Turns(db).for_conversation(room)
    assert [t.trigger_seq for t in turns] == [first.seq, second.seq]

    # Another restart finds nothing owed: nothing is answered twice.
    async with open_world(db, redis_url) as again:
        await again.idle(room)
        assert again.runner.requests == []
    assert len(await Turns(db).for_conversation(room)) == 2


async def test_a_resend_runs_the_turn_its_first_send_never_got(world: World) -> None:
    ann, alpha, room = await one_agent_room(world.db)
    world.runner.script(alpha, "Answered once.")
    stored = await stored_by_dead_process(world.db, room, ann, "hello?", "m-1")
    # The sweep at start ran before the message existed; the resend alone must run it.
    resent = await world.post(room, ann, "hello?", client_msg_id="m-1")
    await world.idle(room)
    again = await world.post(room, ann, "hello?", client_msg_id="m-1")
    await world.idle(room)
    assert (resent.seq, resent.created, again.created) == (stored.seq, False, False)
    assert [text for _, text, _ in await world.said(room)] == ["hello?", "Answered once."]
    assert len(world.runner.requests) == 1


async def test_turns_a_dead_process_left_running_are_ended_and_announced_at_start(
    db: Database, redis_url: str | None
) -> None:
    _, alpha, room = await one_agent_room(db)
    dead = await Turns(db).start(room, alpha.id, trigger_seq=1)
    bus, lock = await backends(redis_url)
    runtime = ConversationRuntime(db, fast_settings(), bus, lock, ScriptedRunner())
    try:
        async with record(bus, room) as recorder:
            await runtime.start()
            # Ended before the runtime serves anybody: a new subscriber sees nothing running.
            assert await Turns(db).running(room) == []
            frames = await recorder.turn_ends(1)
    finally:
        await runtime.close()
        await bus.close()
        await lock.close()
    (end,) = of_type(frames, "turn.end")
    assert (end["turn_id"], end["status"], end["error"]) == (dead.id, "failed", STALE_ERROR)
    stale = await Turns(db).get(dead.id)
    assert (stale.status, stale.error) == ("failed", STALE_ERROR)
    assert stale.ended_at is not None


async def test_a_reply_is_stored_when_the_process_stalled_past_its_lease(
    db: Database, redis_url: str | None
) -> None:
    """A busy event loop (a first turn importing and compiling, a loaded machine) can miss
    the lease's renewals; nobody else claimed the conversation, so the reply is still owed to
    the room and must be stored."""
    settings = fast_settings(lease_seconds=0.3)
    async with open_world(db, redis_url, settings=settings) as world:
        ann, alpha, room = await one_agent_room(db)

        def stall(_request: object) -> Say:
            time.sleep(1.0)  # blocks the event loop: no renewal runs
            return Say("Worth the wait.")

        world.runner.always(alpha, stall)
        await world.post(room, ann, "take your time")
        await world.idle(room)
    said = await world.said(room)
    assert said[-1] == ("@alpha", "Worth the wait.", "complete")
    assert [t.status for t in await Turns(db).for_conversation(room)] == ["completed"]


async def test_a_mention_consumed_by_a_delegation_is_not_a_second_trigger(world: World) -> None:
    ann = await add_user(world.db, "Ann")
    researcher = await add_agent(world.db, "researcher")
    assistant = await add_agent(world.db, "assistant", delegates_to=[researcher.id])
    room = await add_room(world.db, ann, agents=[assistant, researcher])
    world.runner.script(
        assistant,
        Say("The researcher found it. @researcher thanks!", delegate=("researcher", "look")),
    )
    world.runner.script(researcher, "Found: 42.")
    await world.post(room, ann, "@assistant /delegate @researcher look it up")
    await world.idle(room)
    answered = [r.agent_id for r in world.runner.requests]
    assert answered == [assistant.id, researcher.id]
    said = [(who, text) for who, text, _ in await world.said(room)]
    assert said[1:] == [
        ("@researcher", "Found: 42."),
        ("@assistant", "The researcher found it. @researcher thanks!"),
    ]


async def test_a_mention_of_an_agent_outside_the_room_gets_a_note(world: World) -> None:
    ann, alpha, room = await one_agent_room(world.db)
    await add_agent(world.db, "coach")
    world.runner.script(alpha, "Hi Ann.")
    await world.post(room, ann, "@coach can you help?")
    await world.idle(room)
    said = await world.said(room)
    assert said[0] == ("Ann", "@coach can you help?", "complete")
    note = (await world.transcript(room))[-1]
    assert note.kind == "system" and "@coach" in note.content
    assert note.meta["unrouted"]["handles"] == ["coach"]
    # A one-agent room still answers the message; the note comes after the answer.
    assert [who for who, *_ in said] == ["Ann", "@alpha", None]


async def test_an_unrouted_message_in_a_multi_agent_room_gets_one_note(world: World) -> None:
    ann = await add_user(world.db, "Ann")
    alpha, beta = await add_agent(world.db, "alpha"), await add_agent(world.db, "beta")
    room = await add_room(world.db, ann, agents=[alpha, beta], policy={"speaker": "mentions"})
    world.runner.script(alpha, "Here.")
    for text in ("anyone?", "hello??", "@alpha you there?", "thanks"):
        await world.post(room, ann, text)
        await world.idle(room)
    said = [(who, text) for who, text, _ in await world.said(room)]
    hint = "No agent answers here unless mentioned: @alpha, @beta."
    assert said == [
        ("Ann", "anyone?"),
        (None, hint),
        ("Ann", "hello??"),
        ("Ann", "@alpha you there?"),
        ("@alpha", "Here."),
        ("Ann", "thanks"),
        (None, hint),
    ]
    assert len(world.runner.requests) == 1


async def test_a_regenerate_a_dead_process_acknowledged_is_answered_once(
    db: Database, redis_url: str | None
) -> None:
    ann, alpha, room = await one_agent_room(db)
    async with open_world(db, redis_url) as world:
        world.runner.script(alpha, "First take.")
        await world.post(room, ann, "plan the launch")
        await world.idle(room)
    reply = (await Messages(db).after(room))[-1]
    target = await regenerate_target(db, room, reply.seq)
    participant = await Conversations(db).participant_for_user(room, ann.id)
    assert participant is not None
    await Messages(db).append(
        room,
        "",
        author_participant_id=participant.id,
        type=REGENERATE_TYPE,
        meta=target.marker_meta(),
        created_by=ann.id,
        triggers=True,
    )

    async with open_world(db, redis_url) as world:
        world.runner.script(alpha, "Second take.")
        await world.idle(room)
        (request,) = world.runner.requests
        assert request.notice is not None and "plan the launch" in request.notice
    messages = await Messages(db).after(room)
    assert [m.seq for m in messages] == [1, 2, 3, 4]
    assert messages[-1].content == "Second take."
    assert messages[-1].meta["regenerates"]["message_id"] == reply.id
    async with open_world(db, redis_url) as again:
        await again.idle(room)
        assert again.runner.requests == []
