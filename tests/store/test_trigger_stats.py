"""The count of conversations owed an answer, behind the `elevate_queued_triggers` gauge."""

from __future__ import annotations

from store.conversations import Conversations
from store.db import Database
from store.messages import Messages
from store.models import User
from store.trigger_stats import owed_conversations
from store.triggers import Triggers


async def test_conversations_owed_an_answer_are_counted_until_answered(db: Database) -> None:
    async with db.session() as session:
        user = User(name="Ann", email="ann@example.com")
        session.add(user)
    rooms = [(await Conversations(db).create(f"Room {n}", user.id)).id for n in range(3)]
    messages, triggers = Messages(db), Triggers(db)
    assert await owed_conversations(db) == 0

    for room in rooms[:2]:
        author = (await Conversations(db).participants(room))[0].id
        await messages.append(room, "hi", author_participant_id=author, triggers=True)
        await messages.append(room, "again", author_participant_id=author, triggers=True)
    author = (await Conversations(db).participants(rooms[2]))[0].id
    await messages.append(rooms[2], "no answer wanted", author_participant_id=author)
    assert await owed_conversations(db) == 2

    claim = await triggers.claim(rooms[0])
    await triggers.handled(rooms[0], claim.owed[-1].seq, claim.fence)
    assert await owed_conversations(db) == 1
