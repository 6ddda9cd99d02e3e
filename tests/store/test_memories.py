"""Memories are scoped (agent, user, group) and recalled by BM25 relevance, newest on ties."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from store.db import Database
from store.errors import InvalidValue, NotFound
from store.memories import Memories
from store.models import Agent, Group, User


@dataclass(frozen=True)
class People:
    agent: str
    other_agent: str
    ada: str
    bob: str
    team: str
    other_team: str


@pytest.fixture
async def people(db: Database) -> People:
    async with db.session() as session:
        ada, bob = User(name="Ada", email="ada@x.org"), User(name="Bob", email="bob@x.org")
        helper, other = Agent(name="Helper", handle="helper"), Agent(name="Other", handle="other")
        session.add_all([ada, bob, helper, other])
        await session.flush()
        team, other_team = Group(name="Team", owner_id=ada.id), Group(name="B", owner_id=bob.id)
        session.add_all([team, other_team])
    return People(helper.id, other.id, ada.id, bob.id, team.id, other_team.id)


async def test_user_memories_are_visible_to_that_user_only(db: Database, people: People) -> None:
    memories = Memories(db)
    await memories.add(people.agent, "user", "Ada is allergic to peanuts", user_id=people.ada)
    await memories.add(people.agent, "agent", "Peanuts are legumes")
    for_ada = await memories.recall(people.agent, "peanuts", user_id=people.ada)
    for_bob = await memories.recall(people.agent, "peanuts", user_id=people.bob)
    assert {m.content for m in for_ada} == {"Ada is allergic to peanuts", "Peanuts are legumes"}
    assert [m.content for m in for_bob] == ["Peanuts are legumes"]


async def test_group_and_agent_boundaries(db: Database, people: People) -> None:
    memories = Memories(db)
    await memories.add(people.agent, "group", "Standup is at nine", group_id=people.team)
    await memories.add(people.other_agent, "agent", "Standup is at ten")
    in_team = await memories.recall(people.agent, "standup", group_id=people.team)
    elsewhere = await memories.recall(people.agent, "standup", group_id=people.other_team)
    assert [m.content for m in in_team] == ["Standup is at nine"]
    assert elsewhere == []


async def test_recall_ranks_relevant_first(db: Database, people: People) -> None:
    memories = Memories(db)
    for content in [
        "The office plant needs water on Mondays",
        "Ada's favourite editor is Vim",
        "Deploys to production happen on Thursdays after review",
        "Production database backups run nightly",
        "Lunch is usually at noon",
    ]:
        await memories.add(people.agent, "agent", content)
    ranked = await memories.recall_scored(people.agent, "when do production deploys happen?")
    assert ranked[0].memory.content.startswith("Deploys to production")
    assert [s.memory.content for s in ranked[1:]] == ["Production database backups run nightly"]
    assert ranked[0].score > ranked[1].score > 0
    assert ranked[0].memory.last_recalled_at is None
    assert (await memories.get(ranked[0].memory.id)).last_recalled_at is not None


async def test_ties_go_to_the_newest_and_empty_query_lists_recent(
    db: Database, people: People
) -> None:
    memories = Memories(db)
    old = await memories.add(people.agent, "agent", "Coffee machine is broken")
    new = await memories.add(people.agent, "agent", "Coffee machine is fixed")
    assert [m.id for m in await memories.recall(people.agent, "coffee machine")] == [
        new.id,
        old.id,
    ]
    assert [m.id for m in await memories.recall(people.agent, "   ", limit=1)] == [new.id]


async def test_tags_count_towards_relevance(db: Database, people: People) -> None:
    memories = Memories(db)
    tagged = await memories.add(people.agent, "agent", "Use the blue form", tags=["expenses"])
    await memories.add(people.agent, "agent", "Use the red pen")
    assert [m.id for m in await memories.recall(people.agent, "expenses")] == [tagged.id]


async def test_invalid_memories_are_refused(db: Database, people: People) -> None:
    memories = Memories(db)
    with pytest.raises(InvalidValue, match=r"memories\.user_id"):
        await memories.add(people.agent, "user", "x")
    with pytest.raises(InvalidValue, match=r"memories\.group_id"):
        await memories.add(people.agent, "group", "x", user_id=people.ada)
    with pytest.raises(InvalidValue, match=r"memories\.scope"):
        await memories.add(people.agent, "planet", "x")
    with pytest.raises(InvalidValue, match=r"memories\.content"):
        await memories.add(people.agent, "agent", "  ")
    # An agent memory belongs to nobody else, whatever the caller passes along.
    agent_wide = await memories.add(people.agent, "agent", "x", user_id=people.ada)
    assert agent_wide.user_id is None


async def test_list_and_delete(db: Database, people: People) -> None:
    memories = Memories(db)
    mine = await memories.add(people.agent, "user", "a", user_id=people.ada)
    await memories.add(people.agent, "agent", "b")
    assert [m.id for m in await memories.list_for_agent(people.agent, user_id=people.ada)] == [
        mine.id
    ]
    assert len(await memories.list_for_agent(people.agent)) == 2
    with pytest.raises(NotFound):
        await memories.delete(mine.id, agent_id=people.other_agent)
    await memories.delete(mine.id, agent_id=people.agent)
    with pytest.raises(NotFound):
        await memories.get(mine.id)


async def test_listing_shows_each_reader_what_is_theirs(db: Database, people: People) -> None:
    """A user memory is its user's (and staff's); editors see group memories too."""
    memories = Memories(db)
    await memories.add(people.agent, "agent", "launch in May")
    await memories.add(people.agent, "user", "Ada likes tea", user_id=people.ada)
    await memories.add(people.agent, "user", "Bob likes coffee", user_id=people.bob)
    await memories.add(people.agent, "group", "team meets Monday", group_id=people.team)
    await memories.add(people.other_agent, "agent", "not this agent")

    async def seen(**who: bool) -> set[str]:
        rows = await memories.list_visible(people.agent, people.ada, **who)
        return {m.content for m in rows}

    assert await seen() == {"launch in May", "Ada likes tea"}
    assert await seen(editor=True) == {"launch in May", "Ada likes tea", "team meets Monday"}
    assert await seen(staff=True) == {
        "launch in May",
        "Ada likes tea",
        "Bob likes coffee",
        "team meets Monday",
    }
