"""Memory embeddings: how they are stored, and the nearest ones to a query vector.

Vectors are stored unit-length, so cosine similarity is a dot product: a `real[]` on PostgreSQL
(the dot product is computed in SQL) and float32 bytes on SQLite (computed with numpy). Neither
backend has a vector index here: `nearest` scores a bounded candidate set (the lexical matches
plus the newest memories) exactly. It is the one function a vector index (pgvector's `<=>`,
sqlite-vec's `vec0`) would replace with a nearest-neighbour search over every memory.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy import LargeBinary, bindparam, func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from store.models import Memory
from store.vector_type import Vector

MAX_DIMENSIONS = 8192


def unit(vector: Sequence[float]) -> list[float] | None:
    """`vector` scaled to length 1; None for an empty, zero, oversized or non-finite one, which
    could never be compared."""
    array = np.asarray(vector, dtype=np.float64)
    if array.ndim != 1 or not 0 < array.size <= MAX_DIMENSIONS or not np.isfinite(array).all():
        return None
    norm = float(np.linalg.norm(array))
    if norm == 0.0:
        return None
    return (array / norm).astype(np.float32).tolist()


async def nearest(
    session: AsyncSession,
    visible: ColumnElement[bool],
    query: list[float],
    model: str,
    *,
    among: Sequence[str],
    recent: int,
    limit: int,
) -> list[tuple[str, float]]:
    """The `limit` visible memories most similar to the unit vector `query`, as (id, cosine),
    best first: scored among the ids in `among` and the `recent` newest visible memories that
    `model` embedded (vectors from another model are not comparable)."""
    # Two steps, so each uses an index: the newest by (agent_id, created_at), then by id.
    newest = await session.scalars(
        select(Memory.id)
        .where(visible, Memory.embedding_model == model)
        .order_by(Memory.created_at.desc())  # no tie-break: it would sort every row
        .limit(recent)
    )
    ids = set(newest) | set(among)
    if not ids:
        return []
    candidates = Memory.id.in_(sorted(ids))
    if session.bind.dialect.name == "postgresql":
        return await _nearest_in_sql(session, visible, candidates, query, model, limit)
    return await _nearest_in_python(session, visible, candidates, query, model, limit)


async def _nearest_in_sql(
    session: AsyncSession,
    visible: ColumnElement[bool],
    candidates: ColumnElement[bool],
    query: list[float],
    model: str,
    limit: int,
) -> list[tuple[str, float]]:
    pairs = (
        func.unnest(Memory.embedding, bindparam("query", query, type_=Vector()))
        .table_valued("a", "b")
        .render_derived(name="pairs")
    )
    dot = select(func.sum(pairs.c.a * pairs.c.b)).scalar_subquery()
    similarity = dot.label("similarity")
    rows = await session.execute(
        select(Memory.id, similarity)
        .where(visible, candidates, Memory.embedding_model == model)
        .where(func.cardinality(Memory.embedding) == len(query))
        .order_by(similarity.desc(), Memory.id.desc())
        .limit(limit)
    )
    return [(row.id, float(row.similarity)) for row in rows]


async def _nearest_in_python(
    session: AsyncSession,
    visible: ColumnElement[bool],
    candidates: ColumnElement[bool],
    query: list[float],
    model: str,
    limit: int,
) -> list[tuple[str, float]]:
    raw = type_coerce(Memory.embedding, LargeBinary).label("raw")
    rows = (
        await session.execute(
            select(Memory.id, raw).where(visible, candidates, Memory.embedding_model == model)
        )
    ).all()
    target = np.asarray(query, dtype="<f4")
    width = target.size * 4
    rows = [r for r in rows if r.raw is not None and len(r.raw) == width]
    if not rows:
        return []
    matrix = np.frombuffer(b"".join(bytes(r.raw) for r in rows), dtype="<f4")
    scores = matrix.reshape(len(rows), target.size) @ target
    ranked = sorted(zip(scores.tolist(), (r.id for r in rows), strict=True), reverse=True)
    return [(memory_id, float(score)) for score, memory_id in ranked[:limit]]
