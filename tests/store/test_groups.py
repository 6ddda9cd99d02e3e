"""Group membership reaches the group's conversations in the same transaction."""

from __future__ import annotations

from store.conversations import Conversations, NewParticipant
from store.db import Database
from store.groups import LEFT_GROUP, Groups
from tests.store import factories


async def test_leaving_a_group_leaves_its_conversations_and_rejoining_brings_them_back(
    db: Database,
) -> None:
    owner, bob = await factories.user(db, "Owner"), await factories.user(db, "Bob")
    groups, conversations = Groups(db), Conversations(db)
    group = await groups.create("Team", owner.id)
    member = await groups.add_member(group.id, added_by=owner.id, user_id=bob.id)
    inside = await conversations.create("In", owner.id, group_id=group.id)
    kicked = await conversations.create("Kicked", owner.id, group_id=group.id)
    reader = await conversations.create("Read only", owner.id, group_id=group.id)
    outside = await conversations.create("Out", owner.id)
    for room in (inside, kicked, outside):
        await conversations.add_participant(room.id, NewParticipant(user_id=bob.id))
    kicked_row = await conversations.participant_for_user(kicked.id, bob.id)
    assert kicked_row is not None
    await conversations.remove_participant(kicked.id, kicked_row.id)

    change = await groups.leave(group.id, member.id)
    assert [p.conversation_id for p in change.participants] == [inside.id]
    assert all(p.status == LEFT_GROUP and p.is_removed for p in change.participants)
    assert change.conversation_ids == [reader.id]
    for room in (inside, kicked, reader):
        assert await conversations.access(room.id, bob.id) is None
    assert await conversations.access(outside.id, bob.id) == "member"

    change = await groups.join(group.id, added_by=owner.id, user_id=bob.id)
    assert [p.conversation_id for p in change.participants] == [inside.id]
    assert await conversations.access(inside.id, bob.id) == "member"
    assert await conversations.access(reader.id, bob.id) == "member"
    # Removed from one conversation by its admin, Bob stays out of it.
    assert await conversations.access(kicked.id, bob.id) is None


async def test_a_group_observer_is_an_observer_in_every_group_conversation(
    db: Database,
) -> None:
    owner, bob = await factories.user(db, "Owner"), await factories.user(db, "Bob")
    groups, conversations = Groups(db), Conversations(db)
    group = await groups.create("Team", owner.id)
    member = await groups.add_member(group.id, added_by=owner.id, user_id=bob.id)
    mine = await conversations.create("Bob's", bob.id, group_id=group.id)
    assert await conversations.access(mine.id, bob.id) == "admin"
    await groups.set_role(group.id, member.id, "observer", updated_by=owner.id)
    assert await conversations.access(mine.id, bob.id) == "observer"
    await groups.set_role(group.id, member.id, "member", updated_by=owner.id)
    assert await conversations.access(mine.id, bob.id) == "admin"


async def test_an_agent_joining_a_group_joins_its_conversations(db: Database) -> None:
    owner = await factories.user(db, "Owner")
    coach = await factories.agent(db, "Coach")
    groups, conversations = Groups(db), Conversations(db)
    group = await groups.create("Team", owner.id)
    first = await conversations.create("First", owner.id, group_id=group.id)
    change = await groups.join(group.id, added_by=owner.id, agent_id=coach.id)
    assert [(p.conversation_id, p.agent_id, p.role) for p in change.participants] == [
        (first.id, coach.id, "member")
    ]
    assert await conversations.participant_for_agent(first.id, coach.id) is not None
    change = await groups.leave(group.id, change.member.id)
    assert await conversations.participant_for_agent(first.id, coach.id) is None
    again = await groups.join(group.id, added_by=owner.id, agent_id=coach.id)
    assert [p.id for p in again.participants] == [p.id for p in change.participants]
