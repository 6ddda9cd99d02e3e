"""The recall that memory search replaced, kept as the benchmark's baseline: load the newest
5,000 memories the agent may use with this user and group, score them with Okapi BM25 written
in Python, and mark the chosen ones recalled. Nothing in the product imports it.

At 100,000 memories it is also wrong, not only slow: a match older than the newest 5,000 is
never seen. `all_rows=True` measures what ranking every memory this way would cost instead.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

from sqlalchemy import and_, or_, select, update

from store.base import utcnow
from store.db import Database
from store.enums import MemoryScope
from store.memories import Scored
from store.memory_index import STOPWORDS
from store.models import Memory

MAX_CANDIDATES = 5000
K1, B = 1.5, 0.75


async def recall_scored(
    db: Database,
    agent_id: str,
    query: str,
    *,
    user_id: str | None = None,
    group_id: str | None = None,
    limit: int = 5,
    all_rows: bool = False,
) -> list[Scored]:
    scopes = [Memory.scope == MemoryScope.AGENT.value]
    if user_id is not None:
        scopes.append(and_(Memory.scope == MemoryScope.USER.value, Memory.user_id == user_id))
    if group_id is not None:
        scopes.append(and_(Memory.scope == MemoryScope.GROUP.value, Memory.group_id == group_id))
    statement = (
        select(Memory)
        .where(Memory.agent_id == agent_id, or_(*scopes))
        .order_by(Memory.created_at.desc(), Memory.id.desc())
    )
    if not all_rows:
        statement = statement.limit(MAX_CANDIDATES)
    async with db.read() as session:
        candidates = list(await session.scalars(statement))
    terms = tokens(query)
    if terms:
        ranked = [s for s in bm25(terms, candidates) if s.score > 0]
    else:
        ranked = [Scored(m, 0.0) for m in candidates]
    ranked.sort(key=lambda s: (s.memory.created_at, s.memory.id), reverse=True)
    ranked.sort(key=lambda s: s.score, reverse=True)
    chosen = ranked[:limit]
    if chosen:
        async with db.session() as session:
            ids = [s.memory.id for s in chosen]
            await session.execute(
                update(Memory).where(Memory.id.in_(ids)).values(last_recalled_at=utcnow())
            )
    return chosen


def tokens(text: str) -> list[str]:
    words = re.findall(r"\w+", text.lower())
    return [_fold(w) for w in words if w not in STOPWORDS]


def bm25(terms: list[str], memories: list[Memory]) -> list[Scored]:
    docs = [Counter(tokens(_document(m))) for m in memories]
    if not docs:
        return []
    average = sum(sum(d.values()) for d in docs) / len(docs) or 1.0
    frequency = Counter(term for d in docs for term in d)
    unique = set(terms)
    scored = []
    for memory, doc in zip(memories, docs, strict=True):
        length = sum(doc.values())
        score = 0.0
        for term in unique:
            tf = doc.get(term, 0)
            if not tf:
                continue
            df = frequency[term]
            idf = math.log((len(docs) - df + 0.5) / (df + 0.5) + 1.0)
            score += idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / average))
        scored.append(Scored(memory, score))
    return scored


def _document(memory: Memory) -> str:
    tags: list[Any] = memory.tags or []
    return " ".join([memory.content, *(str(t) for t in tags)])


def _fold(word: str) -> str:
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word
