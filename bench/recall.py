"""Scenario "recall": memory recall at 100,000 memories per agent, on the database's own index
against the Python BM25 it replaced (`bench/recall_baseline.py`), in the same run.

Data, the same for every system: one agent with 100,000 memories (60,000 agent-wide, 20,000
for each of two users), a second agent with 20,000 more (in the same index, never visible),
sentences of 8 to 20 words drawn from a Zipf-like vocabulary of 4,000 invented words. Twenty
"needles" (a memory holding a word no other memory has) sit among the older half. Queries, as
the first user: the twenty needle questions ("what do you know about zq7x?") and thirty of two
or three ordinary words.

Systems: the old recall (newest 5,000 rows, BM25 in Python: the reference); the same BM25 over
every visible row (what the old design would need to be right at this size; a few samples);
`Memories.recall_scored` on the text index; and on the text index plus vectors (256-d
deterministic hash embeddings computed in-process, so no endpoint latency is measured, with the
exact cosine over the bounded candidate set). Each recall also marks what it returned, as in
the product. Besides time, how many needles each system puts first.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import numpy as np
from sqlalchemy import insert

from bench import recall_baseline
from bench.fixtures import create_user, fresh_postgres, fresh_sqlite, is_postgres
from bench.harness import Config, ScenarioResult, Target, compare, interleave
from store.base import utcnow
from store.db import Database
from store.ids import new_id
from store.memories import Memories, Scored
from store.memory_vectors import unit
from store.models import Agent, Memory

TITLE = "Memory recall at 100,000 memories per agent"
UNIT = "ms/recall"
VOCABULARY = 4000
NEEDLES = 20
ORDINARY_QUERIES = 30
DIMENSIONS = 256
SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]

OLD = "old recall: newest 5,000, BM25 in Python"
OLD_ALL = "BM25 in Python over every visible memory"
INDEX = "elevate: database text index"
VECTORS = "elevate: text index + vectors (exact cosine, bounded)"


class HashEmbedder:
    """A deterministic bag-of-words embedding, computed in-process: no endpoint is timed."""

    model = f"bench-hash@{DIMENSIONS}"

    async def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [embed(t) for t in texts]

    async def embed_query(self, text: str) -> list[float]:
        return embed(text)


def embed(text: str) -> list[float]:
    vector = np.zeros(DIMENSIONS, dtype=np.float32)
    for word in text.lower().split():
        digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
        vector[int.from_bytes(digest) % DIMENSIONS] += 1.0
    return vector.tolist()


def vocabulary(rng: random.Random) -> list[str]:
    words: set[str] = set()
    while len(words) < VOCABULARY:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


class Corpus:
    """The memories and queries of one run, drawn from a fixed seed."""

    def __init__(self, size: int) -> None:
        rng = random.Random(20261204)
        self.words = vocabulary(rng)
        weights = [1.0 / (rank + 10) for rank in range(VOCABULARY)]
        self.size = size
        self.sentences = [
            " ".join(rng.choices(self.words, weights, k=rng.randint(8, 20)))
            for _ in range(size + size // 5)
        ]
        self.needles = [f"zq{n}x" for n in range(NEEDLES)]
        # Needles among the older half: past the old recall's window of the newest 5,000.
        self.needle_at = {rng.randrange(size // 10, size // 2): needle for needle in self.needles}
        middle = self.words[200:1500]
        self.queries = [f"what do you know about {needle}?" for needle in self.needles]
        self.queries += [
            " ".join(rng.sample(middle, rng.randint(2, 3))) for _ in range(ORDINARY_QUERIES)
        ]


async def seed(db: Database, corpus: Corpus) -> dict[str, str]:
    """Bulk-insert the memories (oldest first), with their embeddings; the ids the runs need."""
    async with db.session() as session:
        agent, other = Agent(name="Keeper", handle="keeper"), Agent(name="Other", handle="other")
        session.add_all([agent, other])
    ada, bob = await create_user(db, "Ada"), await create_user(db, "Bob")
    start = utcnow() - timedelta(days=365)
    rows: list[dict[str, Any]] = []
    for n, sentence in enumerate(corpus.sentences):
        owner: dict[str, Any] = {"agent_id": agent.id, "scope": "agent", "user_id": None}
        if n >= corpus.size:
            owner = {"agent_id": other.id, "scope": "agent", "user_id": None}
        elif n % 5 == 3:
            owner = {"agent_id": agent.id, "scope": "user", "user_id": ada}
        elif n % 5 == 4:
            owner = {"agent_id": agent.id, "scope": "user", "user_id": bob}
        if n in corpus.needle_at:
            sentence = f"{sentence} {corpus.needle_at[n]}"
            owner = {"agent_id": agent.id, "scope": "agent", "user_id": None}
        rows.append(
            {
                "id": new_id(),
                "created_at": start + timedelta(seconds=n * 60),
                "content": sentence,
                "tags": [],
                "source": {},
                "embedding": unit(embed(sentence)),
                "embedding_model": HashEmbedder.model,
                **owner,
            }
        )
    for chunk in range(0, len(rows), 2000):
        async with db.session() as session:
            await session.execute(insert(Memory), rows[chunk : chunk + 2000])
    return {"agent": agent.id, "user": ada}


Recall = Callable[[str], Awaitable[list[Scored]]]


def systems(db: Database, ids: dict[str, str]) -> dict[str, Recall]:
    plain, embedded = Memories(db), Memories(db, embedder=HashEmbedder())
    agent, user = ids["agent"], ids["user"]

    async def old(query: str) -> list[Scored]:
        return await recall_baseline.recall_scored(db, agent, query, user_id=user)

    async def old_all(query: str) -> list[Scored]:
        return await recall_baseline.recall_scored(db, agent, query, user_id=user, all_rows=True)

    async def index(query: str) -> list[Scored]:
        return await plain.recall_scored(agent, query, user_id=user)

    async def vectors(query: str) -> list[Scored]:
        return await embedded.recall_scored(agent, query, user_id=user)

    return {OLD: old, OLD_ALL: old_all, INDEX: index, VECTORS: vectors}


def timed(recall: Recall, queries: list[str]) -> Callable[[], Awaitable[list[float]]]:
    position = 0

    async def batch() -> list[float]:
        nonlocal position
        samples = []
        for _ in range(len(queries)):
            query = queries[position % len(queries)]
            position += 1
            started = time.perf_counter()
            await recall(query)
            samples.append((time.perf_counter() - started) * 1000)
        return samples

    return batch


async def needles_first(recall: Recall, corpus: Corpus) -> int:
    found = 0
    for needle, query in zip(corpus.needles, corpus.queries, strict=False):
        ranked = await recall(query)
        found += bool(ranked) and needle in ranked[0].memory.content.split()
    return found


async def measure(config: Config, result: ScenarioResult, case: str, url: str) -> None:
    corpus = Corpus(config.scale(100_000, 3_000))
    db = Database(url)
    try:
        started = time.perf_counter()
        ids = await seed(db, corpus)
        result.notes.append(
            f"{case}: {len(corpus.sentences):,} memories seeded in "
            f"{time.perf_counter() - started:.0f} s"
        )
        recalls = systems(db, ids)
        per_batch = config.scale(10, 3)
        fast = {name: timed(recalls[name], corpus.queries[::5][:per_batch]) for name in recalls}
        slow = fast.pop(OLD_ALL)
        await interleave(fast, 1)  # warm-up: caches, pools, the planner's statistics
        samples = await interleave(fast, config.scale(5, 1))
        samples[OLD_ALL] = await slow()
        hits = {name: await needles_first(recall, corpus) for name, recall in recalls.items()}
        for name in (OLD, OLD_ALL, INDEX, VECTORS):
            note = f"needle first in {hits[name]}/{NEEDLES}"
            result.add(case, name, UNIT, samples[name], note)
        result.relate(case, OLD)
        measured, met = compare(
            result.median(case, INDEX), result.median(case, OLD), lambda r: r < 1.0
        )
        result.targets.append(
            Target(
                "recall",
                f"{case}: text-index recall faster than the old recall, every needle found",
                f"{measured}, needles {hits[INDEX]}/{NEEDLES}",
                None if met is None else met and hits[INDEX] == NEEDLES,
            )
        )
    finally:
        await db.close()


async def run(config: Config) -> ScenarioResult:
    result = ScenarioResult("recall", TITLE)
    await measure(config, result, "SQLite", await fresh_sqlite("recall"))
    if is_postgres(config.database_url):
        assert config.database_url is not None
        await measure(config, result, "PostgreSQL", await fresh_postgres(config.database_url))
    else:
        for name in (OLD, OLD_ALL, INDEX, VECTORS):
            result.missing("PostgreSQL", name, UNIT, "no --database-url given")
    return result
