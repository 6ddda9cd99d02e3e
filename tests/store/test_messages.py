"""Messages get a gap-free seq under concurrency, and a resent client_msg_id is one message."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from store.conversations import Conversations, NewParticipant
from store.db import Database
from store.errors import InvalidValue, NotFound
from store.messages import Appended, Messages
from store.models import Conversation, ConversationMessage, ConversationParticipant
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


async def test_a_value_too_long_for_its_column_is_invalid_not_a_driver_error(
    db: Database,
) -> None:
    conversation, author = await room(db)
    too_long = "x" * 150  # client_msg_id is VARCHAR(100); the server refuses it earlier too
    if db.is_sqlite:
        # SQLite does not enforce VARCHAR lengths; the server's frame schema does.
        appended = await Messages(db).append(
            conversation.id, "hi", author_participant_id=author.id, client_msg_id=too_long
        )
        assert appended.created
        return
    with pytest.raises(InvalidValue) as caught:
        await Messages(db).append(
            conversation.id, "hi", author_participant_id=author.id, client_msg_id=too_long
        )
    assert caught.value.table == "conversation_messages"
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


async def test_json_and_timestamps_read_back_as_stored(db: Database) -> None:
    conversation, author = await room(db)
    edited = datetime(2026, 5, 4, 3, 2, 1, 123456, tzinfo=timezone(timedelta(hours=2)))
    meta = {"nested": {"list": [1, 2.5, None, True], "text": 'é ✓ "quoted"'}, "empty": {}}
    sent = await Messages(db).append(
        conversation.id,
        "with extras",
        author_participant_id=author.id,
        tags=["a", "b"],
        attachments=[{"name": "x.png", "size": 3}],
        meta=meta,
        updated_at=edited,
    )
    stored = await Messages(db).get(conversation.id, sent.message.seq)
    for message in (sent.message, stored):
        assert message.tags == ["a", "b"]
        assert message.attachments == [{"name": "x.png", "size": 3}]
        assert message.meta == meta
        assert message.updated_at == edited
        assert message.created_at.tzinfo is not None
    assert stored.updated_at.utcoffset() == timedelta(0)
    assert stored.created_at == sent.message.created_at
    # Every column of the returned message is what a read returns.
    assert sent.message.to_dict() | {"updated_at": stored.updated_at} == stored.to_dict()


async def test_json_left_out_is_sql_null_not_json_null(db: Database) -> None:
    conversation, author = await room(db)
    sent = await Messages(db).append(conversation.id, "plain", author_participant_id=author.id)
    assert (sent.message.tags, sent.message.meta, sent.message.updated_at) == (None, None, None)
    async with db.read() as session:
        nulls = await session.scalar(
            select(text("count(*)"))
            .select_from(ConversationMessage)
            .where(
                ConversationMessage.id == sent.message.id,
                text("tags IS NULL AND attachments IS NULL AND meta IS NULL"),
            )
        )
    assert nulls == 1


async def test_system_message_resend_returns_the_original(db: Database) -> None:
    conversation, _ = await room(db)
    messages = Messages(db)
    results = await asyncio.gather(
        *(
            messages.append(
                conversation.id,
                "joined",
                author_participant_id=None,
                kind="system",
                client_msg_id="sys-1",
            )
            for _ in range(5)
        )
    )
    assert sum(r.created for r in results) == 1
    assert {r.message.seq for r in results} == {1}
    assert await messages.last_seq(conversation.id) == 1


async def test_check_and_not_null_violations_are_invalid_values(db: Database) -> None:
    conversation, _ = await room(db)
    messages = Messages(db)
    with pytest.raises(InvalidValue) as caught:
        # A participant message needs an author (CHECK author_required).
        await messages.append(conversation.id, "who?", author_participant_id=None)
    assert caught.value.table == "conversation_messages"
    assert "author_required" in caught.value.field
    with pytest.raises(InvalidValue) as caught:
        await messages.append(conversation.id, None, author_participant_id=None, kind="system")
    assert caught.value.field == "content"
    # Both gave their seq back, and the connections went back to the pool clean.
    assert await messages.last_seq(conversation.id) == 0
    nxt = await messages.append(conversation.id, "ok", author_participant_id=None, kind="system")
    assert nxt.message.seq == 1
    if not db.is_sqlite:
        assert db.engine.pool.checkedout() == 0


@pytest.mark.postgres
async def test_an_append_cancelled_while_waiting_leaves_no_open_transaction(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("needs DATABASE_URL on PostgreSQL: a row lock another session holds")
    conversation, author = await room(db)
    messages = Messages(db)
    async with db.session() as holder:
        await holder.execute(
            select(Conversation.id).where(Conversation.id == conversation.id).with_for_update()
        )
        waiting = asyncio.create_task(
            messages.append(conversation.id, "never", author_participant_id=author.id)
        )
        await _until_an_append_waits_for_a_lock(db)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
    assert db.engine.pool.checkedout() == 0
    nxt = await messages.append(conversation.id, "next", author_participant_id=author.id)
    assert nxt.message.seq == 1


async def _until_an_append_waits_for_a_lock(db: Database) -> None:
    # A new transaction per look: PostgreSQL keeps one pg_stat_activity snapshot per transaction.
    for _ in range(1000):
        async with db.read() as probe:
            if await probe.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ):
                return
        await asyncio.sleep(0.01)
    raise AssertionError("the append never waited for the row lock")
