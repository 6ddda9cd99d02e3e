"""Agent memories: stored per agent, user or group, recalled by relevance.

Recall scores the candidate rows with BM25 in Python: the candidates are one agent's memories
visible to one user in one group, a set small enough to rank in memory on any backend, with no
search extension needed. Newer memories win ties.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_, select, update

from store import crud
from store.base import utcnow
from store.db import Database
from store.enums import MemoryScope
from store.errors import InvalidValue
from store.models import Memory

MAX_CONTENT_CHARS = 4000
MAX_CANDIDATES = 5000
MAX_LIMIT = 100
K1, B = 1.5, 0.75
_STOPWORD_TEXT = (
    "a an and are as at be by for from has have i in is it its me my of on or our so "
    "that the their them they this to was we were what when where which who will with you your"
)
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


@dataclass(frozen=True)
class Scored:
    """A recalled memory and its relevance score (0 when the query had no usable words)."""

    memory: Memory
    score: float


class Memories:
    """Repository of `memories`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self,
        agent_id: str,
        scope: str,
        content: str,
        *,
        user_id: str | None = None,
        group_id: str | None = None,
        source: dict[str, Any] | None = None,
        tags: list[str] | None = None,
    ) -> Memory:
        """Remember `content` for the agent; a `user` memory needs `user_id`, a `group` one
        `group_id`, and an `agent` memory neither."""
        content = content.strip()
        if not content:
            raise InvalidValue("memories", "content", content, "some text")
        if len(content) > MAX_CONTENT_CHARS:
            raise InvalidValue(
                "memories", "content", f"{len(content)} characters", f"<= {MAX_CONTENT_CHARS}"
            )
        user_id, group_id = _owners(scope, user_id, group_id)
        memory = crud.build(
            Memory,
            agent_id=agent_id,
            scope=scope,
            content=content,
            user_id=user_id,
            group_id=group_id,
            source=source or {},
            tags=list(tags or []),
        )
        return await crud.insert(self.db, memory, name_reference=False)

    async def recall(
        self,
        agent_id: str,
        query: str,
        *,
        user_id: str | None = None,
        group_id: str | None = None,
        limit: int = 5,
    ) -> list[Memory]:
        """The most relevant memories the agent may use with this user in this group."""
        return [
            s.memory
            for s in await self.recall_scored(
                agent_id, query, user_id=user_id, group_id=group_id, limit=limit
            )
        ]

    async def recall_scored(
        self,
        agent_id: str,
        query: str,
        *,
        user_id: str | None = None,
        group_id: str | None = None,
        limit: int = 5,
    ) -> list[Scored]:
        """Like `recall`, with scores. A query with words returns only memories that share
        some; an empty one returns the most recent."""
        limit = max(1, min(limit, MAX_LIMIT))
        candidates = await self._visible(agent_id, user_id, group_id)
        terms = tokens(query)
        if terms:
            ranked = [s for s in bm25(terms, candidates) if s.score > 0]
        else:
            ranked = [Scored(m, 0.0) for m in candidates]
        # Two stable sorts: newest first, then by score, so recency breaks score ties.
        ranked.sort(key=lambda s: (s.memory.created_at, s.memory.id), reverse=True)
        ranked.sort(key=lambda s: s.score, reverse=True)
        chosen = ranked[:limit]
        if chosen:
            await self._touch([s.memory.id for s in chosen])
        return chosen

    async def list_for_agent(
        self,
        agent_id: str,
        *,
        scope: str | None = None,
        user_id: str | None = None,
        group_id: str | None = None,
        limit: int = 100,
    ) -> list[Memory]:
        """The agent's memories, newest first, optionally narrowed to a scope or owner."""
        query = select(Memory).where(Memory.agent_id == agent_id)
        if scope is not None:
            query = query.where(Memory.scope == scope)
        if user_id is not None:
            query = query.where(Memory.user_id == user_id)
        if group_id is not None:
            query = query.where(Memory.group_id == group_id)
        query = query.order_by(Memory.created_at.desc(), Memory.id.desc()).limit(
            max(1, min(limit, 1000))
        )
        async with self.db.read() as session:
            return list(await session.scalars(query))

    async def list_visible(
        self,
        agent_id: str,
        user_id: str,
        *,
        staff: bool = False,
        editor: bool = False,
        limit: int = 100,
    ) -> list[Memory]:
        """The agent's memories that `user_id` may read, newest first.

        A user-scope memory is that user's alone (staff see every one, to answer support); the
        agent's editors also see its group-scope memories; everyone sees the agent-wide ones.
        """
        query = select(Memory).where(Memory.agent_id == agent_id)
        if not staff:
            scopes = [
                Memory.scope == MemoryScope.AGENT.value,
                and_(Memory.scope == MemoryScope.USER.value, Memory.user_id == user_id),
            ]
            if editor:
                scopes.append(Memory.scope == MemoryScope.GROUP.value)
            query = query.where(or_(*scopes))
        query = query.order_by(Memory.created_at.desc(), Memory.id.desc()).limit(
            max(1, min(limit, 1000))
        )
        async with self.db.read() as session:
            return list(await session.scalars(query))

    async def get(self, memory_id: str) -> Memory:
        async with self.db.read() as session:
            return await crud.fetch(session, Memory, memory_id)

    async def delete(self, memory_id: str, *, agent_id: str | None = None) -> None:
        """Forget a memory; with `agent_id`, only if it is that agent's."""
        owner = {} if agent_id is None else {"agent_id": agent_id}
        async with self.db.session() as session:
            await session.delete(await crud.fetch(session, Memory, memory_id, **owner))

    async def _visible(
        self, agent_id: str, user_id: str | None, group_id: str | None
    ) -> list[Memory]:
        scopes = [Memory.scope == MemoryScope.AGENT.value]
        if user_id is not None:
            scopes.append(and_(Memory.scope == MemoryScope.USER.value, Memory.user_id == user_id))
        if group_id is not None:
            scopes.append(
                and_(Memory.scope == MemoryScope.GROUP.value, Memory.group_id == group_id)
            )
        query = (
            select(Memory)
            .where(Memory.agent_id == agent_id, or_(*scopes))
            .order_by(Memory.created_at.desc(), Memory.id.desc())
            .limit(MAX_CANDIDATES)
        )
        async with self.db.read() as session:
            return list(await session.scalars(query))

    async def _touch(self, ids: list[str]) -> None:
        async with self.db.session() as session:
            await session.execute(
                update(Memory).where(Memory.id.in_(ids)).values(last_recalled_at=utcnow())
            )


def tokens(text: str) -> list[str]:
    """Lower-cased words without stop words, with a light plural folding ("cats" -> "cat")."""
    words = re.findall(r"\w+", text.lower())
    return [_fold(w) for w in words if w not in STOPWORDS]


def bm25(terms: list[str], memories: list[Memory]) -> list[Scored]:
    """Okapi BM25 of `terms` against each memory's content and tags."""
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
    return " ".join([memory.content, *(str(t) for t in memory.tags or [])])


def _fold(word: str) -> str:
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _owners(scope: str, user_id: str | None, group_id: str | None) -> tuple[str | None, ...]:
    allowed = {s.value for s in MemoryScope}
    if scope not in allowed:
        raise InvalidValue("memories", "scope", scope, "one of " + ", ".join(sorted(allowed)))
    if scope == MemoryScope.USER and not user_id:
        raise InvalidValue("memories", "user_id", user_id, "a user id for a user memory")
    if scope == MemoryScope.GROUP and not group_id:
        raise InvalidValue("memories", "group_id", group_id, "a group id for a group memory")
    return (
        user_id if scope == MemoryScope.USER else None,
        group_id if scope == MemoryScope.GROUP else None,
    )
