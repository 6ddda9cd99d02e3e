"""Message tabs in the store: kept apart from the delivery status, bounded, scoped to a room."""

from __future__ import annotations

import pytest

from store.db import Database
from store.errors import InvalidValue, NotFound
from store.message_tabs import MAX_TAG_CHARS, MAX_TAGS, MessageTabs, clean_tags
from store.messages import Messages
from tests.store.test_messages import room


def test_tags_are_trimmed_and_deduplicated_case_insensitively() -> None:
    assert clean_tags([" Bug ", "bug", "ui  polish", "UI polish"]) == ["Bug", "ui polish"]
    assert clean_tags([f"t{i}" for i in range(MAX_TAGS)] + ["t0"]) == [
        f"t{i}" for i in range(MAX_TAGS)
    ]


@pytest.mark.parametrize(
    "tags", [[""], [" "], ["x" * (MAX_TAG_CHARS + 1)], [f"t{i}" for i in range(MAX_TAGS + 1)]]
)
def test_empty_long_or_too_many_tags_are_refused(tags: list[str]) -> None:
    with pytest.raises(InvalidValue) as caught:
        clean_tags(tags)
    assert caught.value.field == "tags"


async def test_a_tab_never_replaces_the_delivery_status(db: Database) -> None:
    conversation, author = await room(db)
    stored = await Messages(db).append(
        conversation.id, "partial", author_participant_id=author.id, status="cancelled"
    )
    state = await MessageTabs(db).set(conversation.id, stored.message.id, tab="todo")
    assert state.tab == "todo" and state.tagged_at is not None
    [message] = (await Messages(db).page(conversation.id, 0, 10)).messages
    assert (message.status, message.tab) == ("cancelled", "todo")


async def test_unknown_tabs_and_messages_of_other_rooms_change_nothing(db: Database) -> None:
    conversation, author = await room(db)
    other, _ = await room(db)
    stored = await Messages(db).append(conversation.id, "hi", author_participant_id=author.id)
    tabs = MessageTabs(db)
    with pytest.raises(InvalidValue):
        await tabs.set(conversation.id, stored.message.id, tab="complete")
    with pytest.raises(NotFound):
        await tabs.set(other.id, stored.message.id, tab="top")
    assert await tabs.changed_up_to(conversation.id, 10) == []


async def test_changes_up_to_a_seq_list_every_message_ever_tagged(db: Database) -> None:
    conversation, author = await room(db)
    messages = Messages(db)
    ids = [
        (
            await messages.append(conversation.id, f"m{i}", author_participant_id=author.id)
        ).message.id
        for i in range(4)
    ]
    tabs = MessageTabs(db)
    await tabs.set(conversation.id, ids[0], tags=["a"])
    await tabs.set(conversation.id, ids[2], tab="now")
    await tabs.set(conversation.id, ids[2], tab=None)
    await tabs.set(conversation.id, ids[3], tab="done")
    changed = await tabs.changed_up_to(conversation.id, 3)
    assert [(s.seq, s.tab, s.tags) for s in changed] == [(1, None, ["a"]), (3, None, [])]
