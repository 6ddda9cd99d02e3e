"""Recall runs on the database's full-text index: ranked there, kept in step by the database,
filled by the migration, scoped before ranking, and deaf to query syntax in user text."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import insert, text, update

from store.base import utcnow
from store.db import Database
from store.ids import new_id
from store.memories import Memories
from store.memory_index import fts5_query, query_words
from store.migrate import alembic_config, upgrade
from store.models import Agent, Memory
from tests.store import test_memories
from tests.store.test_memories import People

people = test_memories.people  # the same agents, users and groups

HOSTILE_QUERIES = [
    '"',
    '"unbalanced quote',
    "cat OR",
    "OR",
    "AND NOT",
    "NEAR(cat fish, 2)",
    "cat*",
    "*",
    "-cat",
    "(cat",
    "cat)",
    "content:cat",
    "{content tags}: cat",
    "^cat",
    "cat & fish | !bird",
    "cat:*",
    "'; DROP TABLE memories; --",
    "\\",
    "\x00cat",
    "ｃａｔ",
]


def test_query_words_keep_letters_and_digits_only() -> None:
    assert query_words('What is "NEAR"(cat* OR -dog)?') == ["near", "cat", "dog"]
    assert query_words("the of and") == []
    assert query_words(" ".join(f"w{n}" for n in range(100))) == [f"w{n}" for n in range(32)]
    assert fts5_query(["near", 'a"b']) == '"near" OR "a""b"'


async def test_a_match_older_than_thousands_of_newer_memories_is_found(
    db: Database, people: People
) -> None:
    """The index searches every memory, not a window of the newest."""
    start = utcnow() - timedelta(days=1)
    rows = [
        {
            "id": new_id(),
            "created_at": start + timedelta(milliseconds=n),
            "agent_id": people.agent,
            "scope": "agent",
            "content": f"routine note number {n} about the weekly schedule",
            "tags": [],
            "source": {},
        }
        for n in range(1, 6001)
    ]
    oldest = {**rows[0], "id": new_id(), "created_at": start, "content": "The vault code is 4711"}
    async with db.session() as session:
        await session.execute(insert(Memory), [oldest, *rows])
    found = await Memories(db).recall(people.agent, "what is the vault code?")
    assert [m.content for m in found] == ["The vault code is 4711"]


async def test_relevance_comes_from_the_index(db: Database, people: People) -> None:
    memories = Memories(db)
    await memories.add(people.agent, "agent", "Invoices are paid on the first Monday")
    best = await memories.add(people.agent, "agent", "Invoices for travel: invoices need receipts")
    await memories.add(people.agent, "agent", "Receipts go to accounting")
    ranked = await memories.recall_scored(people.agent, "travel invoices")
    assert ranked[0].memory.id == best.id
    assert ranked[0].score > ranked[1].score
    assert {s.memory.content for s in ranked} == {
        "Invoices are paid on the first Monday",
        "Invoices for travel: invoices need receipts",
    }
    # The index stems: "invoice" finds "Invoices".
    assert len(await memories.recall(people.agent, "invoice", limit=10)) == 2


@pytest.mark.parametrize("query", HOSTILE_QUERIES)
async def test_query_syntax_in_user_text_is_only_words(
    db: Database, people: People, query: str
) -> None:
    memories = Memories(db)
    cat = await memories.add(people.agent, "agent", "The cat sleeps near the window")
    await memories.add(people.agent, "agent", "Dogs bark at the mail carrier")
    found = await memories.recall(people.agent, query, limit=10)
    words = set(query_words(query))
    if words & {"cat", "near", "content", "tags"}:
        assert [m.id for m in found] == [cat.id]
    elif words:
        assert found == []  # words the memories lack; none of them read as an operator
    else:
        assert len(found) == 2  # nothing to search: the most recent
    assert len(await memories.list_for_agent(people.agent)) == 2


async def test_a_word_in_other_scopes_never_leaks(db: Database, people: People) -> None:
    memories = Memories(db)
    await memories.add(people.agent, "user", "Bob's locker code is 1234", user_id=people.bob)
    await memories.add(people.agent, "group", "Group B locker is 7", group_id=people.other_team)
    await memories.add(people.other_agent, "agent", "Other agent's locker is 9")
    for n in range(30):
        await memories.add(people.agent, "user", f"Bob locker note {n}", user_id=people.bob)
    mine = await memories.add(people.agent, "user", "Ada's locker is 42", user_id=people.ada)
    found = await memories.recall(
        people.agent, "locker code", user_id=people.ada, group_id=people.team, limit=20
    )
    assert [m.id for m in found] == [mine.id]
    assert await memories.recall(people.agent, "locker", limit=20) == []


async def test_update_and_delete_keep_the_index_in_step(db: Database, people: People) -> None:
    memories = Memories(db)
    memory = await memories.add(people.agent, "agent", "Ada drinks tea", tags=["drinks"])
    await memories.update(memory.id, agent_id=people.agent, content="Ada drinks coffee")
    assert await memories.recall(people.agent, "tea") == []
    assert [m.id for m in await memories.recall(people.agent, "coffee")] == [memory.id]
    await memories.update(memory.id, tags=["morning"])
    assert [m.id for m in await memories.recall(people.agent, "morning")] == [memory.id]
    assert await memories.recall(people.agent, "drinks tea tags") != []  # content still there
    # A write straight to the table, past the repository, is indexed by the database too.
    async with db.session() as session:
        await session.execute(
            update(Memory).where(Memory.id == memory.id).values(content="Ada drinks cocoa")
        )
    assert await memories.recall(people.agent, "coffee") == []
    assert [m.id for m in await memories.recall(people.agent, "cocoa")] == [memory.id]
    await memories.delete(memory.id, agent_id=people.agent)
    assert await memories.recall(people.agent, "cocoa morning") == []
    assert await _index_entries(db, "cocoa") == 0


async def test_update_is_refused_for_another_agent_and_bad_content(
    db: Database, people: People
) -> None:
    from store.errors import InvalidValue, NotFound

    memories = Memories(db)
    memory = await memories.add(people.agent, "agent", "Parking is on level 2")
    with pytest.raises(NotFound):
        await memories.update(memory.id, agent_id=people.other_agent, content="mine now")
    with pytest.raises(InvalidValue, match=r"memories\.content"):
        await memories.update(memory.id, content="x" * 4001)
    assert (await memories.get(memory.id)).content == "Parking is on level 2"


async def _index_entries(db: Database, word: str) -> int:
    """How many rows the index itself holds for `word`."""
    async with db.read() as session:
        if db.is_sqlite:
            statement = "SELECT count(*) FROM memories_fts WHERE memories_fts MATCH :q"
            return int(await session.scalar(text(statement), {"q": fts5_query([word])}))
        statement = (
            "SELECT count(*) FROM memories WHERE search_vector @@ plainto_tsquery('english', :q)"
        )
        return int(await session.scalar(text(statement), {"q": word}))


async def test_the_migration_indexes_memories_stored_before_it(database_url: str) -> None:
    """Downgrade below the search index, store memories, upgrade: they are found."""
    db = Database(database_url)
    try:
        await _downgrade(db, "0008_durable_triggers")
        async with db.session() as session:
            agent = Agent(name="Keeper", handle="keeper")
            session.add(agent)
            await session.flush()
            agent_id = agent.id
            for content in ["Backups run at midnight", "The printer is on floor three"]:
                await session.execute(
                    text(
                        "INSERT INTO memories (id, created_at, agent_id, scope, content, source,"
                        " tags) VALUES (:id, :at, :agent, 'agent', :content, '{}', '[]')"
                    ),
                    {"id": new_id(), "at": utcnow(), "agent": agent_id, "content": content},
                )
    finally:
        await db.close()
    await upgrade(database_url)
    db = Database(database_url)
    try:
        found = await Memories(db).recall(agent_id, "when do backups run?")
        assert [m.content for m in found] == ["Backups run at midnight"]
        assert await _index_entries(db, "printer") == 1
    finally:
        await db.close()


async def _downgrade(db: Database, revision: str) -> None:
    config = alembic_config(db.url)
    async with db.engine.begin() as connection:

        def run(sync_connection: object) -> None:
            config.attributes["connection"] = sync_connection
            command.downgrade(config, revision)

        await connection.run_sync(run)


async def test_no_user_or_group_means_agent_wide_only(db: Database, people: People) -> None:
    memories = Memories(db)
    await memories.add(people.agent, "user", "Ada's umbrella is blue", user_id=people.ada)
    shared = await memories.add(people.agent, "agent", "Umbrellas are in the hall")
    assert [m.id for m in await memories.recall(people.agent, "umbrella")] == [shared.id]
