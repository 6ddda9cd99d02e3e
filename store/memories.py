"""Agent memories: stored per agent, user or group, recalled by relevance.

Recall runs on the database's own indexes (`store/memory_index.py`: FTS5 on SQLite, a `tsvector`
with a GIN index on PostgreSQL) and, when an embedder is attached to the database
(`store/embeddings.py`), on vector similarity too (`store/memory_vectors.py`). The scores are
blended with recency, so of two equally good matches the newer wins. Every query is narrowed to
what the agent may use with this user in this group before anything is ranked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from store import crud
from store.base import utcnow
from store.db import Database
from store.embeddings import Embedder, embedder_for
from store.enums import MemoryScope
from store.errors import InvalidValue
from store.memory_index import query_words, text_matches
from store.memory_vectors import nearest, unit
from store.models import Memory

log = logging.getLogger(__name__)

MAX_CONTENT_CHARS = 4000
MAX_LIMIT = 100
# Lexical matches ranked by the index before blending, and the newest memories whose vectors
# are compared exactly (the bounded set a vector index would replace; see memory_vectors).
TEXT_CANDIDATES = 200
VECTOR_CANDIDATES = 1000
# A vector match counts from this cosine up; below it, text only.
MIN_SIMILARITY = 0.3
TEXT_WEIGHT, VECTOR_WEIGHT, RECENCY_WEIGHT = 1.0, 1.0, 0.1
RECENCY_HALF_LIFE_DAYS = 30.0


@dataclass(frozen=True)
class Scored:
    """A recalled memory and its blended score (0 when the query had nothing to search)."""

    memory: Memory
    score: float


class Memories:
    """Repository of `memories`."""

    def __init__(self, db: Database, *, embedder: Embedder | None = None) -> None:
        self.db = db
        self.embedder = embedder or embedder_for(db)

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
        `group_id`, and an `agent` memory neither. With an embedder, the memory is embedded
        first; if that fails the memory is still kept, found by its words."""
        content = _checked_content(content)
        user_id, group_id = _owners(scope, user_id, group_id)
        tags = list(tags or [])
        embedding, model = await self._embed(_document(content, tags))
        memory = crud.build(
            Memory,
            agent_id=agent_id,
            scope=scope,
            content=content,
            user_id=user_id,
            group_id=group_id,
            source=source or {},
            tags=tags,
            embedding=embedding,
            embedding_model=model,
        )
        return await crud.insert(self.db, memory, name_reference=False)

    async def update(
        self,
        memory_id: str,
        *,
        agent_id: str | None = None,
        content: str | None = None,
        tags: list[str] | None = None,
    ) -> Memory:
        """Change a memory's content or tags (with `agent_id`, only if it is that agent's); the
        text index follows in the same statement, the embedding is made again."""
        owner = {} if agent_id is None else {"agent_id": agent_id}
        current = await crud.get(self.db, Memory, memory_id, **owner)
        new_content = current.content if content is None else _checked_content(content)
        new_tags = list(current.tags or []) if tags is None else list(tags)
        embedding, model = await self._embed(_document(new_content, new_tags))
        async with self.db.session() as session:
            memory = await crud.fetch(session, Memory, memory_id, **owner)
            memory.content, memory.tags = new_content, new_tags
            memory.embedding, memory.embedding_model = embedding, model
        return memory

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
        """Like `recall`, with scores. A query with words returns the memories that share
        some, or (with an embedder) whose meaning is close enough; one with nothing to search
        returns the most recent."""
        limit = max(1, min(limit, MAX_LIMIT))
        visible = _visible(agent_id, user_id, group_id)
        words = query_words(query)
        vector = await self._embed_query(query)
        async with self.db.read() as session:
            if not words and vector is None:
                return [Scored(m, 0.0) for m in await self._newest(session, visible, limit)]
            matches = await text_matches(session, visible, words, max(TEXT_CANDIDATES, limit))
            found = {memory.id: memory for memory, _ in matches}
            similar: dict[str, float] = {}
            if vector is not None and self.embedder is not None:
                nearby = await nearest(
                    session,
                    visible,
                    vector,
                    self.embedder.model,
                    among=list(found),
                    recent=VECTOR_CANDIDATES,
                    limit=max(limit * 4, 20),
                )
                similar = {i: score for i, score in nearby if score >= MIN_SIMILARITY}
                found.update(await self._by_id(session, similar.keys() - found.keys()))
            lexical = {memory.id: score for memory, score in matches}
            ranked = blend(lexical, similar, found, utcnow())
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

    async def _newest(self, session: Any, visible: ColumnElement[bool], limit: int) -> list[Memory]:
        query = (
            select(Memory)
            .where(visible)
            .order_by(Memory.created_at.desc(), Memory.id.desc())
            .limit(limit)
        )
        return list(await session.scalars(query))

    async def _by_id(self, session: Any, ids: set[str]) -> dict[str, Memory]:
        if not ids:
            return {}
        rows = await session.scalars(select(Memory).where(Memory.id.in_(ids)))
        return {m.id: m for m in rows}

    async def _embed(self, text: str) -> tuple[list[float] | None, str | None]:
        """The unit embedding of a memory's text and its model, or (None, None)."""
        if self.embedder is None:
            return None, None
        try:
            [vector] = await self.embedder.embed_documents([text])
        except Exception:  # the endpoint is the edge of the world: keep the memory anyway
            log.warning("embedding a memory failed; it is kept, found by its words", exc_info=True)
            return None, None
        found = unit(vector)
        return (found, self.embedder.model) if found is not None else (None, None)

    async def _embed_query(self, query: str) -> list[float] | None:
        if self.embedder is None or not query.strip():
            return None
        try:
            return unit(await self.embedder.embed_query(query.strip()[:MAX_CONTENT_CHARS]))
        except Exception:  # recall by words still works without the endpoint
            log.warning("embedding a recall query failed; recalling by words", exc_info=True)
            return None

    async def _touch(self, ids: list[str]) -> None:
        async with self.db.session() as session:
            await session.execute(
                update(Memory).where(Memory.id.in_(ids)).values(last_recalled_at=utcnow())
            )


def blend(
    lexical: dict[str, float],
    similar: dict[str, float],
    memories: dict[str, Memory],
    now: datetime,
) -> list[Scored]:
    """Rank the union of text and vector matches: text relevance (scaled to the best match of
    this query), cosine similarity, and recency halving every `RECENCY_HALF_LIFE_DAYS`."""
    best = max(lexical.values(), default=0.0) or 1.0
    scored = []
    for memory_id in lexical.keys() | similar.keys():
        memory = memories.get(memory_id)
        if memory is None:  # deleted between the two queries
            continue
        age_days = max((now - memory.created_at).total_seconds(), 0.0) / 86400
        score = (
            TEXT_WEIGHT * lexical.get(memory_id, 0.0) / best
            + VECTOR_WEIGHT * max(similar.get(memory_id, 0.0), 0.0)
            + RECENCY_WEIGHT * 0.5 ** (age_days / RECENCY_HALF_LIFE_DAYS)
        )
        scored.append(Scored(memory, score))
    scored.sort(key=lambda s: (s.score, s.memory.created_at, s.memory.id), reverse=True)
    return scored


def _visible(agent_id: str, user_id: str | None, group_id: str | None) -> ColumnElement[bool]:
    """The agent's memories usable with this user in this group: agent-wide ones, the user's
    own, the group's own; never another user's or group's."""
    scopes = [Memory.scope == MemoryScope.AGENT.value]
    if user_id is not None:
        scopes.append(and_(Memory.scope == MemoryScope.USER.value, Memory.user_id == user_id))
    if group_id is not None:
        scopes.append(and_(Memory.scope == MemoryScope.GROUP.value, Memory.group_id == group_id))
    return and_(Memory.agent_id == agent_id, or_(*scopes))


def _checked_content(content: str) -> str:
    content = content.strip()
    if not content:
        raise InvalidValue("memories", "content", content, "some text")
    if len(content) > MAX_CONTENT_CHARS:
        raise InvalidValue(
            "memories", "content", f"{len(content)} characters", f"<= {MAX_CONTENT_CHARS}"
        )
    return content


def _document(content: str, tags: list[Any]) -> str:
    return " ".join([content, *(str(t) for t in tags)])


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
