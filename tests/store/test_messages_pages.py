"""Reading pages of messages: `has_more` from the rows, and seqs beyond any a column holds."""

from __future__ import annotations

from store.conversations import Conversations
from store.db import Database
from store.messages import MAX_PAGE, MAX_SEQ, Messages
from tests.store import factories


async def _room_with(db: Database, count: int) -> str:
    owner = await factories.user(db)
    conversations = Conversations(db)
    conversation = await conversations.create("Room", owner.id)
    author = await conversations.participant_for_user(conversation.id, owner.id)
    assert author is not None
    messages = Messages(db)
    for i in range(count):
        await messages.append(conversation.id, f"m{i}", author_participant_id=author.id)
    return conversation.id


async def test_has_more_is_read_from_the_rows_even_at_the_page_cap(db: Database) -> None:
    conversation_id = await _room_with(db, MAX_PAGE)
    messages = Messages(db)
    full = await messages.page(conversation_id, 0, MAX_PAGE)
    assert len(full.messages) == MAX_PAGE and full.has_more is False
    author = (await messages.get(conversation_id, 1)).author_participant_id
    await messages.append(conversation_id, "one more", author_participant_id=author)
    capped = await messages.page(conversation_id, 0, MAX_PAGE)
    assert [m.seq for m in capped.messages] == list(range(1, MAX_PAGE + 1))
    assert capped.has_more is True
    # A limit above the cap is the cap, and the answer about what follows stays true.
    assert (await messages.page(conversation_id, 0, 10_000)).has_more is True
    rest = await messages.page(conversation_id, MAX_PAGE, MAX_PAGE)
    assert [m.seq for m in rest.messages] == [MAX_PAGE + 1] and rest.has_more is False
    exact = await messages.page(conversation_id, MAX_PAGE - 1, 2)
    assert [m.seq for m in exact.messages] == [MAX_PAGE, MAX_PAGE + 1]
    assert exact.has_more is False


async def test_seqs_beyond_the_column_read_as_nothing_after(db: Database) -> None:
    conversation_id = await _room_with(db, 2)
    messages = Messages(db)
    for after_seq in (MAX_SEQ, 2**31, 2**63, 2**64, 10**30):
        assert await messages.after(conversation_id, after_seq) == []
        page = await messages.page(conversation_id, after_seq)
        assert page.messages == [] and page.has_more is False
    assert [m.seq for m in await messages.after(conversation_id, MAX_SEQ - 1)] == []
