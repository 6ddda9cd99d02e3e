"""Scenario 6, long conversations: what one agent turn costs at message 100 and at 10,000.

Each batch gets two fresh conversations with the same user and agent, seeded by bulk insert to
100 and to 10,000 messages, then alternates timed turns between them, so both lengths see the
same noise and the same warm caches. A turn is `post_user_message` until the runtime is idle.
The first turn in each fresh conversation is reported apart: it folds the backlog older than the
history window into the conversation's running summary, a one-off cost of the bulk import.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import insert, update

from bench.elevate import ElevateRoom, product_missing
from bench.fixtures import Room, is_postgres
from bench.harness import OURS, Config, ScenarioResult, Target, compare, interleave
from store.base import utcnow
from store.ids import new_id
from store.models import Conversation, ConversationMessage

TITLE = "Long conversation: turn cost at message 100 against message 10,000"
UNIT = "ms/turn"
SHORT, LONG = 100, 10_000
SEED_CHUNK = 2_000
PROMPT = "Can you remind me what we decided about the offer?"


async def seed(elevate: ElevateRoom, room: Room, count: int) -> None:
    """Bulk-insert `count` alternating human and agent messages and move `last_seq` past them."""
    now = utcnow()
    authors = [room.user_participant_id, room.agent_participant_ids[0]]
    rows: list[dict[str, Any]] = [
        {
            "id": new_id(),
            "created_at": now,
            "conversation_id": room.conversation_id,
            "seq": seq,
            "author_participant_id": authors[seq % 2],
            "kind": "participant",
            "type": "chat",
            "status": "complete",
            "content": f"Message {seq}: notes about the offer, the audience and the next step.",
        }
        for seq in range(1, count + 1)
    ]
    async with elevate.db.session() as session:
        for start in range(0, len(rows), SEED_CHUNK):
            await session.execute(insert(ConversationMessage), rows[start : start + SEED_CHUNK])
        await session.execute(
            update(Conversation)
            .where(Conversation.id == room.conversation_id)
            .values(last_seq=count, last_message_time=now)
        )


def system_name(length: int) -> str:
    return f"{OURS}, turn at message {length:,}"


async def _backend(config: Config, result: ScenarioResult, postgres: bool) -> None:
    backend = "PostgreSQL" if postgres else "SQLite"
    turns, rounds = config.scale(10, 2), config.scale(6, 1)
    lengths = (SHORT, LONG) if not config.quick else (SHORT, 1_000)
    elevate = await ElevateRoom.create(f"s6-{backend}", config, postgres=postgres)
    samples: dict[int, list[float]] = {length: [] for length in lengths}
    first: dict[int, list[float]] = {length: [] for length in lengths}

    async def fresh(length: int) -> Room:
        room = await elevate.another_room(
            user_id=elevate.room.user_id, agent_ids=elevate.room.agent_ids
        )
        await seed(elevate, room, length)
        return room

    async def batch() -> list[float]:
        rooms = {length: await fresh(length) for length in lengths}
        for length, room in rooms.items():
            # The first turn folds the bulk-inserted backlog into the running summary, once;
            # a conversation that grew turn by turn has paid that as it went.
            started = time.perf_counter()
            await elevate.turn(PROMPT, room)
            first[length].append((time.perf_counter() - started) * 1000)
        for index in range(turns):
            order = lengths if index % 2 == 0 else tuple(reversed(lengths))
            for length in order:
                started = time.perf_counter()
                await elevate.turn(PROMPT, rooms[length])
                samples[length].append((time.perf_counter() - started) * 1000)
        return []

    try:
        await elevate.turn(PROMPT)
        await interleave({backend: batch}, rounds)
    finally:
        await elevate.close()
    case = f"{backend}, one agent"
    for length in lengths:
        result.add(case, system_name(length), UNIT, samples[length])
    for length in lengths:
        note = "summary catch-up of the bulk-inserted backlog"
        result.add(case, f"{OURS}, first turn after seeding {length:,}", UNIT, first[length], note)
    result.relate(case, system_name(SHORT))
    short, long = (result.median(case, system_name(n)) for n in lengths)
    measured, met = compare(long, short, lambda r: r <= 1.10)
    goal = f"{backend}: turn at message {lengths[1]:,} within 10% of message {SHORT}"
    result.targets.append(Target("6", goal, measured, met))


async def run(config: Config) -> ScenarioResult:
    result = ScenarioResult("6", TITLE)
    missing = product_missing()
    if missing is not None:
        result.missing("SQLite, one agent", system_name(LONG), UNIT, missing)
        return result
    await _backend(config, result, postgres=False)
    if is_postgres(config.database_url):
        await _backend(config, result, postgres=True)
    return result
