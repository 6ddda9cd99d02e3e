"""Recall by meaning: the real `OpenAIEmbeddings` client against a local compatible endpoint
(`tests/scale/fake_openai.py`, whose embedding folds a few synonyms), on both backends."""

from __future__ import annotations

import math
import socket
from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from runtime.embeddings import OpenAIEmbedder, embedder_from_settings
from runtime.settings import Settings
from store.db import Database
from store.embeddings import embedder_for, use_embedder
from store.memories import Memories
from store.memory_vectors import unit
from store.models import Memory
from tests.scale.fake_openai import app
from tests.store import test_memories
from tests.store.test_memories import People
from tests.support.local_server import LocalServer

people = test_memories.people  # the same agents, users and groups


@pytest.fixture
def endpoint() -> Iterator[LocalServer]:
    with LocalServer(app) as server:
        yield server


def embedder_at(url: str, **fields: object) -> OpenAIEmbedder:
    settings = Settings(
        memory_embeddings_url=url,
        memory_embeddings_model="fake-embed",
        memory_embeddings_api_key=SecretStr("test-key"),
        **fields,  # type: ignore[arg-type]
    )
    embedder = embedder_from_settings(settings)
    assert embedder is not None
    return embedder


@pytest.fixture
def embedder(endpoint: LocalServer) -> OpenAIEmbedder:
    return embedder_at(endpoint.base_url)


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_unit_vectors() -> None:
    assert unit([3.0, 4.0]) == pytest.approx([0.6, 0.8])
    assert unit([0.0, 0.0]) is None
    assert unit([]) is None
    assert unit([1.0, math.nan]) is None
    assert unit([1.0] * 9000) is None


async def test_memories_are_stored_with_a_unit_embedding(
    db: Database, people: People, embedder: OpenAIEmbedder
) -> None:
    memory = await Memories(db, embedder=embedder).add(people.agent, "agent", "Ada drives a car")
    async with db.read() as session:
        row = (
            await session.execute(
                select(Memory.embedding, Memory.embedding_model).where(Memory.id == memory.id)
            )
        ).one()
    vector = row.embedding
    assert row.embedding_model == "fake-embed"
    assert len(vector) == 64
    assert math.isclose(sum(x * x for x in vector), 1.0, rel_tol=1e-5)


async def test_meaning_finds_what_words_do_not(
    db: Database, people: People, embedder: OpenAIEmbedder
) -> None:
    with_vectors = Memories(db, embedder=embedder)
    drives = await with_vectors.add(people.agent, "agent", "Ada drives an automobile")
    await with_vectors.add(people.agent, "agent", "The office closes at six")
    assert await Memories(db).recall(people.agent, "car") == []
    assert [m.id for m in await with_vectors.recall(people.agent, "car")] == [drives.id]


async def test_text_and_meaning_blend(
    db: Database, people: People, embedder: OpenAIEmbedder
) -> None:
    memories = Memories(db, embedder=embedder)
    both = await memories.add(people.agent, "agent", "Ada's car is a blue automobile")
    words = await memories.add(people.agent, "agent", "The car park opens at seven")
    meaning = await memories.add(people.agent, "agent", "Kim sold her vehicle")
    ranked = await memories.recall_scored(people.agent, "car", limit=10)
    assert [s.memory.id for s in ranked][:1] == [both.id]
    assert {s.memory.id for s in ranked} == {both.id, words.id, meaning.id}
    assert ranked[0].score > ranked[1].score > ranked[2].score > 0


async def test_meaning_never_crosses_scopes(
    db: Database, people: People, embedder: OpenAIEmbedder
) -> None:
    memories = Memories(db, embedder=embedder)
    await memories.add(people.agent, "user", "Bob's automobile is red", user_id=people.bob)
    await memories.add(people.agent, "group", "Team B has one vehicle", group_id=people.other_team)
    await memories.add(people.other_agent, "agent", "Other agent: automobile rules")
    mine = await memories.add(people.agent, "user", "Ada's automobile is grey", user_id=people.ada)
    found = await memories.recall(
        people.agent, "car", user_id=people.ada, group_id=people.team, limit=20
    )
    assert [m.id for m in found] == [mine.id]


async def test_vectors_of_another_model_are_not_compared(
    db: Database, people: People, endpoint: LocalServer
) -> None:
    old = Memories(db, embedder=embedder_at(endpoint.base_url, memory_embeddings_dimensions=32))
    await old.add(people.agent, "agent", "Ada drives an automobile")
    current = Memories(db, embedder=embedder_at(endpoint.base_url))
    assert await current.recall(people.agent, "car") == []
    assert len(await current.recall(people.agent, "automobile")) == 1  # words still work


async def test_an_unreachable_endpoint_loses_nothing(db: Database, people: People) -> None:
    down = Memories(db, embedder=embedder_at(closed_port_url()))
    memory = await down.add(people.agent, "agent", "Ada drives an automobile")
    assert memory.embedding_model is None
    assert [m.id for m in await down.recall(people.agent, "automobile")] == [memory.id]


async def test_an_attached_embedder_is_used_by_every_repository(
    db: Database, people: People, embedder: OpenAIEmbedder
) -> None:
    use_embedder(db, embedder)
    try:
        assert embedder_for(db) is embedder
        drives = await Memories(db).add(people.agent, "agent", "Ada drives an automobile")
        assert [m.id for m in await Memories(db).recall(people.agent, "car")] == [drives.id]
    finally:
        use_embedder(db, None)
    assert embedder_for(db) is None
