"""Who may see a conversation: participants by role, removed ones not, group members through
the conversation's group."""

from __future__ import annotations

import pytest

from store.conversations import Conversations, NewParticipant
from store.db import Database
from store.errors import InvalidValue, NotFound
from tests.store import factories


async def test_creator_is_admin_and_participants_keep_their_roles(db: Database) -> None:
    owner = await factories.user(db, "Owner")
    member = await factories.user(db, "Member")
    watcher = await factories.user(db, "Watcher")
    agent = await factories.agent(db)
    conversations = Conversations(db)
    conversation = await conversations.create(
        "Launch",
        owner.id,
        policy={"speaker": "mentions"},
        participants=[
            NewParticipant(user_id=member.id),
            NewParticipant(user_id=watcher.id, role="observer"),
            NewParticipant(agent_id=agent.id),
        ],
    )
    assert await conversations.access(conversation.id, owner.id) == "admin"
    assert await conversations.access(conversation.id, member.id) == "member"
    assert await conversations.access(conversation.id, watcher.id) == "observer"
    stranger = await factories.user(db, "Stranger")
    assert await conversations.access(conversation.id, stranger.id) is None
    assert await conversations.access("no-such-conversation", owner.id) is None

    people = await conversations.participants(conversation.id)
    assert {(p.kind, p.user_id or p.agent_id) for p in people} == {
        ("user", owner.id),
        ("user", member.id),
        ("user", watcher.id),
        ("agent", agent.id),
    }
    assert (await conversations.get(conversation.id)).policy == {"speaker": "mentions"}
    assert await conversations.participant_for_agent(conversation.id, agent.id) is not None


async def test_removed_participant_loses_access_even_as_group_member(db: Database) -> None:
    owner = await factories.user(db, "Owner")
    member = await factories.user(db, "Member")
    team = await factories.group(db, owner)
    await factories.group_member(db, team, member)
    conversations = Conversations(db)
    conversation = await conversations.create(
        "Team room", owner.id, group_id=team.id, participants=[NewParticipant(user_id=member.id)]
    )
    participant = await conversations.participant_for_user(conversation.id, member.id)
    assert participant is not None

    removed = await conversations.remove_participant(conversation.id, participant.id)
    assert removed.is_removed
    assert await conversations.access(conversation.id, member.id) is None
    assert await conversations.participant_for_user(conversation.id, member.id) is None
    assert conversation.id not in {c.id for c in await conversations.list_for_user(member.id)}
    everyone = await conversations.participants(conversation.id, include_removed=True)
    assert member.id in {p.user_id for p in everyone}

    back = await conversations.add_participant(
        conversation.id, NewParticipant(user_id=member.id, role="observer")
    )
    assert back.id == participant.id and not back.is_removed
    assert await conversations.access(conversation.id, member.id) == "observer"


async def test_group_members_get_access_through_the_group(db: Database) -> None:
    owner = await factories.user(db, "Owner")
    colleague = await factories.user(db, "Colleague")
    auditor = await factories.user(db, "Auditor")
    unranked = await factories.user(db, "Unranked")
    team = await factories.group(db, owner)
    await factories.group_member(db, team, colleague)
    await factories.group_member(db, team, auditor, role="observer")
    await factories.group_member(db, team, unranked, role=None)
    conversations = Conversations(db)
    in_group = await conversations.create("Team room", owner.id, group_id=team.id)
    outside = await conversations.create("Private", owner.id)

    assert await conversations.access(in_group.id, colleague.id) == "member"
    assert await conversations.access(in_group.id, auditor.id) == "observer"
    assert await conversations.access(in_group.id, unranked.id) == "member"
    assert await conversations.access(outside.id, colleague.id) is None
    assert [c.id for c in await conversations.list_for_user(colleague.id)] == [in_group.id]
    assert {c.id for c in await conversations.list_for_user(owner.id)} == {in_group.id, outside.id}


async def test_participant_errors_are_domain_errors(db: Database) -> None:
    owner = await factories.user(db)
    conversations = Conversations(db)
    conversation = await conversations.create("Room", owner.id)
    with pytest.raises(InvalidValue, match="exactly one"):
        await conversations.add_participant(conversation.id, NewParticipant())
    with pytest.raises(InvalidValue, match="exactly one"):
        await conversations.add_participant(
            conversation.id, NewParticipant(user_id=owner.id, agent_id="a")
        )
    with pytest.raises(NotFound):
        await conversations.add_participant("nope", NewParticipant(user_id=owner.id))
    with pytest.raises(InvalidValue) as caught:
        await conversations.add_participant(conversation.id, NewParticipant(user_id="ghost"))
    assert caught.value.table == "conversation_participants"
    with pytest.raises(InvalidValue, match=r"conversation_participants\.role: 'boss'"):
        await conversations.add_participant(
            conversation.id, NewParticipant(user_id=owner.id, role="boss")
        )
    with pytest.raises(NotFound):
        await conversations.remove_participant(conversation.id, "no-such-participant")
    with pytest.raises(NotFound):
        await conversations.get("nope")


async def test_update_changes_columns_and_refuses_unknown_ones(db: Database) -> None:
    owner = await factories.user(db)
    conversations = Conversations(db)
    conversation = await conversations.create("Room", owner.id)
    updated = await conversations.update(conversation.id, title="Renamed", policy={"busy": "queue"})
    assert (updated.title, updated.policy) == ("Renamed", {"busy": "queue"})
    with pytest.raises(InvalidValue, match=r"conversations\.titel"):
        await conversations.update(conversation.id, titel="typo")
    with pytest.raises(InvalidValue):
        await conversations.update(conversation.id, group_id="no-such-group")
    with pytest.raises(NotFound):
        await conversations.update("nope", title="x")
