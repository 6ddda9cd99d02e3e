"""Turns: start, finish with usage, running, and failing turns a dead process left behind."""

from __future__ import annotations

import pytest

from store.conversations import Conversations
from store.db import Database
from store.errors import Fenced, InvalidValue, NotFound
from store.messages import Messages
from store.models import Agent, User
from store.triggers import Triggers
from store.turns import STALE_ERROR, Turns


async def room(db: Database) -> tuple[str, str]:
    async with db.session() as session:
        user = User(name="Ann", email="ann@example.com")
        agent = Agent(name="Alpha", handle="alpha")
        session.add_all([user, agent])
    conversation = await Conversations(db).create("Room", user.id)
    return conversation.id, agent.id


async def test_a_turn_starts_running_and_finishes_with_usage(db: Database) -> None:
    conversation_id, agent_id = await room(db)
    turns = Turns(db)
    turn = await turns.start(
        conversation_id, agent_id, trigger_seq=1, fencing_token=7, model="offline:default"
    )
    assert turn.status == "running"
    assert [t.id for t in await turns.running(conversation_id)] == [turn.id]

    usage = {"input_tokens": 12, "output_tokens": 5}
    await turns.finish(turn.id, "completed", message_seq=2, usage=usage, model="scripted:x")
    stored = await turns.get(turn.id)
    assert (stored.status, stored.message_seq, stored.input_tokens, stored.output_tokens) == (
        "completed",
        2,
        12,
        5,
    )
    assert stored.fencing_token == 7
    assert stored.model == "scripted:x"
    assert stored.ended_at is not None
    assert await turns.running(conversation_id) == []


async def test_nested_turns_keep_their_parent(db: Database) -> None:
    conversation_id, agent_id = await room(db)
    turns = Turns(db)
    parent = await turns.start(conversation_id, agent_id)
    child = await turns.start(conversation_id, agent_id, parent_turn_id=parent.id)
    assert (await turns.get(child.id)).parent_turn_id == parent.id
    assert [t.id for t in await turns.for_conversation(conversation_id)] == [parent.id, child.id]


async def test_fail_stale_fails_every_running_turn_but_the_one_kept(db: Database) -> None:
    conversation_id, agent_id = await room(db)
    turns = Turns(db)
    dead = await turns.start(conversation_id, agent_id)
    done = await turns.start(conversation_id, agent_id)
    await turns.finish(done.id, "completed")
    mine = await turns.start(conversation_id, agent_id)

    assert await turns.fail_stale(conversation_id, except_turn_id=mine.id) == 1
    stale = await turns.get(dead.id)
    assert (stale.status, stale.error) == ("failed", STALE_ERROR)
    assert (await turns.get(done.id)).status == "completed"
    assert [t.id for t in await turns.running(conversation_id)] == [mine.id]
    assert await turns.fail_stale(conversation_id) == 1
    assert await turns.running(conversation_id) == []


async def test_finishing_needs_a_final_status_and_a_known_turn(db: Database) -> None:
    conversation_id, agent_id = await room(db)
    turns = Turns(db)
    turn = await turns.start(conversation_id, agent_id)
    with pytest.raises(InvalidValue):
        await turns.finish(turn.id, "running")
    with pytest.raises(NotFound):
        await turns.finish("01NOSUCHTURN0000000000000", "failed")
    with pytest.raises(NotFound):
        await turns.get("01NOSUCHTURN0000000000000")


async def test_a_writer_whose_token_was_claimed_over_cannot_start_or_store(db: Database) -> None:
    conversation_id, agent_id = await room(db)
    turns, triggers = Turns(db), Triggers(db)
    ours = await triggers.claim(conversation_id)
    turn = await turns.start(conversation_id, agent_id, fence=ours.fence)
    assert turn.fencing_token == ours.fence

    newer = await triggers.claim(conversation_id)  # a newer lease holder took over
    assert newer.fence > ours.fence
    assert [stale.id for stale in newer.stale] == [turn.id]
    with pytest.raises(Fenced):
        await turns.start(conversation_id, agent_id, fence=ours.fence)
    with pytest.raises(Fenced):
        await turns.finish_with_reply(
            turn.id,
            "completed",
            conversation_id=conversation_id,
            content="too late",
            author_participant_id=None,
            reply_fields={"kind": "system"},
            fence=ours.fence,
        )
    assert await Messages(db).after(conversation_id) == []
    assert (await Conversations(db).get(conversation_id)).last_seq == 0
    assert (await turns.get(turn.id)).status == "failed"
    assert len(await turns.for_conversation(conversation_id)) == 1


async def test_a_trigger_is_owed_until_a_reply_answers_it(db: Database) -> None:
    conversation_id, agent_id = await room(db)
    participant = (await Conversations(db).participants(conversation_id))[0]
    messages, triggers = Messages(db), Triggers(db)
    note = await messages.append(conversation_id, "not a trigger", author_participant_id=None,
                                 kind="system")  # fmt: skip
    asked = await messages.append(
        conversation_id, "@alpha hi", author_participant_id=participant.id, triggers=True
    )
    claim = await triggers.claim(conversation_id)
    assert [o.seq for o in claim.owed] == [asked.message.seq] != [note.message.seq]
    assert list(await triggers.needing_attention()) == [conversation_id]

    turn = await Turns(db).start(conversation_id, agent_id, fence=claim.fence)
    assert [o.seq for o in (await triggers.claim(conversation_id)).owed] == [asked.message.seq]

    # Its turn died with the claim above; the next holder's reply answers it.
    latest = await triggers.claim(conversation_id)
    retry = await Turns(db).start(conversation_id, agent_id, fence=latest.fence)
    await Turns(db).finish_with_reply(
        retry.id,
        "completed",
        conversation_id=conversation_id,
        content="hello",
        author_participant_id=None,
        reply_fields={"kind": "system"},
        fence=latest.fence,
        answers=asked.message.seq,
    )
    assert (await Turns(db).get(turn.id)).status == "failed"
    assert (await triggers.claim(conversation_id)).owed == []
    assert await triggers.needing_attention() == {}
