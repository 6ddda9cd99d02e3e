"""Messages get a gap-free seq under concurrency, and a resent client_msg_id is one message."""

from __future__ import annotations

import asyncio

import pytest

from store.conversations import Conversations, NewParticipant
from store.db import Database
from store.errors import InvalidValue, NotFound
from store.messages import Appended, Messages
from store.models import Conversation, ConversationParticipant
from tests.store import factories

WRITERS = 50


async def room(db: Database) -> tuple[Conversation, ConversationParticipant]:
    owner = await factories.user(db)
    conversations = Conversations(db)
    conversation = await conversations.create("Room", owner.id)
    author = await conversations.participant_for_user(conversation.id, owner.id)
    assert author is not None
    return conversation, author


async def test_concurrent_writers_get_seq_one_to_fifty(db: Database) -> None:
    conversation, author = await room(db)
    messages = Messages(db)
    # Every append opens its own session (and, on PostgreSQL, its own pooled connection).
    results = await asyncio.gather(
        *(
            messages.append(conversation.id, f"m{i}", author_participant_id=author.id)
            for i in range(WRITERS)
        )
    )

    assert sorted(r.message.seq for r in results) == list(range(1, WRITERS + 1))
    assert all(r.created for r in results)
    if not db.is_sqlite:
        # More than one connection was opened: the writers really overlapped.
        assert db.engine.pool.checkedin() > 1
    stored = await messages.after(conversation.id, 0, limit=100)
    assert [m.seq for m in stored] == list(range(1, WRITERS + 1))
    assert {m.content for m in stored} == {f"m{i}" for i in range(WRITERS)}
    assert await messages.last_seq(conversation.id) == WRITERS


async def test_resent_client_msg_id_returns_the_original(db: Database) -> None:
    conversation, author = await room(db)
    messages = Messages(db)
    first = await messages.append(
        conversation.id, "hello", author_participant_id=author.id, client_msg_id="c-1"
    )
    again = await messages.append(
        conversation.id, "hello (resent)", author_participant_id=author.id, client_msg_id="c-1"
    )
    assert first.created and not again.created
    assert again.message.id == first.message.id
    assert again.message.seq == first.message.seq == 1
    assert again.message.content == "hello"
    assert await messages.last_seq(conversation.id) == 1


async def test_racing_resends_store_one_message(db: Database) -> None:
    conversation, author = await room(db)
    messages = Messages(db)
    results: list[Appended] = await asyncio.gather(
        *(
            messages.append(
                conversation.id, "once", author_participant_id=author.id, client_msg_id="race"
            )
            for _ in range(10)
        )
    )
    assert sum(r.created for r in results) == 1
    assert {r.message.id for r in results} == {results[0].message.id}
    assert {r.message.seq for r in results} == {1}
    # The losers gave their seq back: the next message is 2, no gap.
    nxt = await Messages(db).append(conversation.id, "next", author_participant_id=author.id)
    assert nxt.message.seq == 2


async def test_same_client_msg_id_from_another_author_is_another_message(db: Database) -> None:
    conversation, author = await room(db)
    other_user = await factories.user(db, "Bob")
    other = await Conversations(db).add_participant(
        conversation.id, NewParticipant(user_id=other_user.id)
    )
    messages = Messages(db)
    a = await messages.append(
        conversation.id, "a", author_participant_id=author.id, client_msg_id="x"
    )
    b = await messages.append(
        conversation.id, "b", author_participant_id=other.id, client_msg_id="x"
    )
    assert a.created and b.created
    assert (a.message.seq, b.message.seq) == (1, 2)


async def test_append_to_unknown_conversation_is_not_found(db: Database) -> None:
    with pytest.raises(NotFound) as caught:
        await Messages(db).append("nope", "hi", author_participant_id=None, kind="system")
    assert caught.value.table == "conversations"
    assert caught.value.code == "not_found"


async def test_append_with_unknown_author_is_invalid(db: Database) -> None:
    conversation, _ = await room(db)
    with pytest.raises(InvalidValue) as caught:
        await Messages(db).append(conversation.id, "hi", author_participant_id="no-such-author")
    assert caught.value.table == "conversation_messages"
    # The failed append gave its seq back.
    assert await Messages(db).last_seq(conversation.id) == 0


async def test_append_with_bad_status_names_table_field_and_value(db: Database) -> None:
    conversation, author = await room(db)
    with pytest.raises(InvalidValue, match=r"conversation_messages\.status: 'shouting'"):
        await Messages(db).append(
            conversation.id, "hi", author_participant_id=author.id, status="shouting"
        )


async def test_reading_pages_and_windows(db: Database) -> None:
    conversation, author = await room(db)
    messages = Messages(db)
    for i in range(1, 8):
        await messages.append(conversation.id, f"m{i}", author_participant_id=author.id)
    assert [m.seq for m in await messages.after(conversation.id, 3, limit=2)] == [4, 5]
    assert [m.seq for m in await messages.after(conversation.id, 7)] == []
    assert [m.seq for m in await messages.latest(conversation.id, 3)] == [5, 6, 7]
    assert (await messages.get(conversation.id, 6)).content == "m6"
    with pytest.raises(NotFound):
        await messages.get(conversation.id, 99)
    with pytest.raises(NotFound):
        await messages.last_seq("nope")
