"""What one agent turn costs the database, counted on the real engine, so it cannot creep up.

A human message answered by one agent used to take 23 transactions and 27 statements; it now
takes 6 transactions (3 of them read-only): read the poster, append the message, read the
trigger (conversation, roster, last speaker), start the turn, read the window and prompts, store
the reply with the turn's end and the summary. The bounds leave no room for a new round trip;
an agent with memories pays only for the recall itself. Durable triggers and fencing cost one
statement more than before (the owed triggers are read when the conversation is claimed, the
turn's start checks the fencing token) and no transaction. Metering costs two statements and no
transaction: the turn's start reads the day's usage against the budgets, the reply's
transaction adds the turn's row to the usage ledger.
Behaviour is checked alongside: an edit still applies on the next turn, the summary still
advances, the reply is still stored and announced.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event

from runtime.testing import ScriptedChatModel, register_scripted
from store.agents import Agents
from store.conversations import Conversations
from store.db import Database
from store.memories import Memories
from store.turns import Turns
from tests.runtime.group_harness import (
    add_agent,
    add_room,
    add_user,
    fast_settings,
    of_type,
    open_world,
    real_runner,
    record,
)

MAX_TRANSACTIONS_PER_TURN = 6
MAX_STATEMENTS_PER_TURN = 19
# Memories.recall (store/memories.py): read the candidates, then mark the recalled ones.
RECALL_TRANSACTIONS = 2
# Small, so that every counted turn also folds messages into the running summary.
WINDOW = 4
TURNS = 3


@dataclass
class Counted:
    transactions: int = 0
    statements: int = 0


@contextmanager
def count_sql(db: Database) -> Iterator[Counted]:
    """Transactions begun and statements run on the engine while the block runs."""
    engine = db.engine.sync_engine
    counted = Counted()

    def begin(_connection: Any) -> None:
        counted.transactions += 1

    def statement(_conn: Any, _cursor: Any, text: str, *_args: Any) -> None:
        if not text.lstrip().upper().startswith("BEGIN"):
            counted.statements += 1

    event.listen(engine, "begin", begin)
    event.listen(engine, "before_cursor_execute", statement)
    try:
        yield counted
    finally:
        event.remove(engine, "begin", begin)
        event.remove(engine, "before_cursor_execute", statement)


async def count_turns(
    db: Database, redis_url: str | None, model: ScriptedChatModel, *, memory: str | None
) -> Counted:
    """Warm up (so every counted turn also folds messages into the summary), then count three
    turns: each a human message answered by the room's one agent."""
    name = register_scripted(f"turn-cost-{memory is not None}", model)
    settings = fast_settings(history_window=WINDOW)
    async with open_world(db, redis_url, runner=real_runner(db, settings), settings=settings) as w:
        ann = await add_user(db, "Ann")
        alpha = await add_agent(db, "alpha", model=name)
        room = await add_room(db, ann, agents=[alpha])
        if memory is not None:
            await Memories(db).add(alpha.id, "agent", memory)
        for index in range(WINDOW):
            await w.post(room, ann, f"warm-up {index}")
            await w.idle(room)

        async with record(w.bus, room) as recorder:
            with count_sql(db) as counted:
                for index in range(TURNS):
                    await w.post(room, ann, f"question {index}")
                    await w.idle(room)
            frames = await recorder.turn_ends(TURNS)

    assert [f["status"] for f in of_type(frames, "turn.end")] == ["completed"] * TURNS
    replies = [f["message"] for f in of_type(frames, "message") if f["message"]["turn_id"]]
    assert [r["content"] for r in replies] == ["noted, thanks"] * TURNS
    conversation = await Conversations(db).get(room)
    # The last turn read the window before its reply: everything older is in the summary.
    assert conversation.summary_seq == conversation.last_seq - 1 - WINDOW
    assert "question 0" in (conversation.summary or "")
    return counted


async def test_one_agent_turn_stays_within_its_transaction_budget(
    db: Database, redis_url: str | None
) -> None:
    counted = await count_turns(
        db, redis_url, ScriptedChatModel(fallback="noted, thanks"), memory=None
    )
    assert counted.transactions <= MAX_TRANSACTIONS_PER_TURN * TURNS, counted
    assert counted.statements <= MAX_STATEMENTS_PER_TURN * TURNS, counted


async def test_recalling_memories_costs_only_the_recall(
    db: Database, redis_url: str | None
) -> None:
    model = ScriptedChatModel(fallback="noted, thanks")
    counted = await count_turns(db, redis_url, model, memory="Questions deserve short answers")
    assert "Questions deserve short answers" in model.last_prompt_text()
    recall = RECALL_TRANSACTIONS * TURNS
    assert counted.transactions <= MAX_TRANSACTIONS_PER_TURN * TURNS + recall, counted
    assert counted.statements <= MAX_STATEMENTS_PER_TURN * TURNS + recall, counted


async def test_an_edit_applies_on_the_next_turn_without_reading_the_agent_again(
    db: Database, redis_url: str | None
) -> None:
    model = ScriptedChatModel(fallback="ok")
    name = register_scripted("turn-cost-edit", model)
    settings = fast_settings()
    runner = real_runner(db, settings)
    async with open_world(db, redis_url, runner=runner, settings=settings) as w:
        ann = await add_user(db, "Ann")
        alpha = await add_agent(db, "alpha", model=name, system_prompt="Answer in English.")
        room = await add_room(db, ann, agents=[alpha])
        await w.post(room, ann, "hello")
        await w.idle(room)
        assert "Answer in English." in model.last_prompt_text()
        builds = runner.compiler.builds

        await Agents(db).update(alpha.id, system_prompt="Answer in French.")
        await w.post(room, ann, "hello again")
        await w.idle(room)
        assert "Answer in French." in model.last_prompt_text()
        assert runner.compiler.builds == builds + 1

        await w.post(room, ann, "and again")
        await w.idle(room)
        assert runner.compiler.builds == builds + 1
    assert [t.status for t in await Turns(db).for_conversation(room)] == ["completed"] * 3
