"""The closed journey funnel of a student's customers, computed in one SQL statement.

A customer counts at a step when they have an event at that step and at every earlier step of
the list. Each customer's first event time per step comes from `customer_funnels`, a rollup the
store refreshes (in SQL, from the events) in the transaction that adds a customer's events, so
the funnel reads one row per customer instead of every event. Filtered by channel, it groups the
events themselves (`ix_customer_journey_events_funnel`). The outer query sums the running
products of the per-step flags, and takes the median time between a step's first event and the
previous step's (percentile_cont on PostgreSQL; a ROW_NUMBER window on SQLite, which has no
percentile aggregate).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from store.db import Database
from store.kpi_metrics import FUNNEL_STEPS

ROLLUP_COLUMNS = {step: f"{step.lower()}_at" for step in FUNNEL_STEPS}
_FIRSTS = ", ".join(f"MIN(CASE WHEN step = '{step}' THEN timestamp END)" for step in FUNNEL_STEPS)
REFRESH_CHUNK = 500


async def refresh_rollup(session: AsyncSession, customer_ids: Iterable[str]) -> None:
    """Recompute these customers' `customer_funnels` rows from their events (in SQL)."""
    ids = sorted(set(customer_ids))
    columns = ", ".join(ROLLUP_COLUMNS.values())
    for start in range(0, len(ids), REFRESH_CHUNK):
        chunk = {f"c{i}": c for i, c in enumerate(ids[start : start + REFRESH_CHUNK])}
        marks = ", ".join(f":{k}" for k in chunk)
        await session.execute(text(f"DELETE FROM customer_funnels WHERE id IN ({marks})"), chunk)
        await session.execute(
            text(
                f"INSERT INTO customer_funnels (id, user_id, created_at, {columns}) "
                f"SELECT customer_id, user_id, MIN(created_at), {_FIRSTS} "
                f"FROM customer_journey_events WHERE customer_id IN ({marks}) "
                "GROUP BY customer_id, user_id"
            ),
            chunk,
        )


def rebuild_rollup_sql() -> str:
    """One statement filling `customer_funnels` from every event (after a bulk load)."""
    columns = ", ".join(ROLLUP_COLUMNS.values())
    return (
        f"INSERT INTO customer_funnels (id, user_id, created_at, {columns}) "
        f"SELECT customer_id, user_id, MIN(created_at), {_FIRSTS} "
        "FROM customer_journey_events GROUP BY customer_id, user_id"
    )


def _from_rollup(steps: list[str], *, segment: bool) -> str:
    parts = []
    for i, step in enumerate(steps):
        column = f"f.{ROLLUP_COLUMNS[step]}"
        parts.append(f"CASE WHEN {column} IS NULL THEN 0 ELSE 1 END AS h{i}, {column} AS t{i}")
    join = " JOIN customers c ON c.id = f.id AND c.segment = :segment" if segment else ""
    return f"SELECT f.id AS customer_id, {', '.join(parts)} FROM customer_funnels f{join} " + (
        "WHERE f.user_id = :user_id"
    )


def _per_customer(steps: list[str], *, segment: bool, channel: bool) -> str:
    flags = ", ".join(
        f"MAX(CASE WHEN step = :s{i} THEN 1 ELSE 0 END) AS h{i}" for i in range(len(steps))
    )
    firsts = ", ".join(
        f"MIN(CASE WHEN step = :s{i} THEN timestamp END) AS t{i}" for i in range(len(steps))
    )
    where = [
        "user_id = :user_id",
        "step IN (" + ", ".join(f":s{i}" for i in range(len(steps))) + ")",
    ]
    if channel:
        where.append("channel = :channel")
    if segment:
        where.append(
            "customer_id IN (SELECT id FROM customers WHERE user_id = :user_id "
            "AND segment = :segment)"
        )
    return (
        f"SELECT customer_id, {flags}, {firsts} FROM customer_journey_events "
        f"WHERE {' AND '.join(where)} GROUP BY customer_id"
    )


def _reached(steps: list[str]) -> str:
    """Running products of the flags: r{k} is 1 when the customer has steps 0..k."""
    columns = []
    for k in range(len(steps)):
        columns.append(" * ".join(f"h{i}" for i in range(k + 1)) + f" AS r{k}")
        columns.append(f"t{k}")
    return "SELECT " + ", ".join(columns) + " FROM pc"


def _postgres(steps: list[str], per_customer: str) -> str:
    parts = [f"SUM(r{k}) AS n{k}" for k in range(len(steps))]
    for k in range(1, len(steps)):
        delta = f"EXTRACT(EPOCH FROM (t{k} - t{k - 1}))"
        parts.append(
            f"percentile_cont(0.5) WITHIN GROUP (ORDER BY CASE WHEN r{k} = 1 "
            f"AND t{k} >= t{k - 1} THEN {delta} END) AS m{k}"
        )
    return f"WITH pc AS ({per_customer}), r AS ({_reached(steps)}) SELECT {', '.join(parts)} FROM r"


def _sqlite(steps: list[str], per_customer: str) -> str:
    counts = " UNION ALL ".join(
        f"SELECT {k} AS k, SUM(r{k}) AS n FROM r" for k in range(len(steps))
    )
    deltas = (
        " UNION ALL ".join(
            f"SELECT {k} AS k, (julianday(t{k}) - julianday(t{k - 1})) * 86400.0 AS v FROM r "
            f"WHERE r{k} = 1 AND t{k} >= t{k - 1}"
            for k in range(1, len(steps))
        )
        or "SELECT 0 AS k, NULL AS v WHERE 0"
    )
    return (
        f"WITH pc AS MATERIALIZED ({per_customer}), r AS MATERIALIZED ({_reached(steps)}), "
        f"counts AS ({counts}), d AS ({deltas}), "
        "ranked AS (SELECT k, v, ROW_NUMBER() OVER (PARTITION BY k ORDER BY v) AS rn, "
        "COUNT(*) OVER (PARTITION BY k) AS c FROM d), "
        "med AS (SELECT k, AVG(v) AS m FROM ranked WHERE rn IN ((c + 1) / 2, (c + 2) / 2) "
        "GROUP BY k) "
        "SELECT counts.k, counts.n, med.m FROM counts LEFT JOIN med ON med.k = counts.k "
        "ORDER BY counts.k"
    )


async def closed_funnel(
    db: Database,
    user_id: str,
    steps: list[str] | None = None,
    *,
    segment: str | None = None,
    channel: str | None = None,
) -> list[dict[str, Any]]:
    """[{step, customers, conversion, drop_off, median_seconds_from_previous}] in list order."""
    steps = list(steps or FUNNEL_STEPS)
    if channel is None:
        per_customer = _from_rollup(steps, segment=segment is not None)
    else:
        per_customer = _per_customer(steps, segment=segment is not None, channel=True)
    params: dict[str, Any] = {f"s{i}": s for i, s in enumerate(steps)} | {"user_id": user_id}
    if segment is not None:
        params["segment"] = segment
    if channel is not None:
        params["channel"] = channel
    async with db.read() as session:
        if db.is_sqlite:
            rows = (await session.execute(text(_sqlite(steps, per_customer)), params)).all()
            counts = [int(n or 0) for _, n, _ in rows]
            medians = [m for _, _, m in rows]
        else:
            row = (await session.execute(text(_postgres(steps, per_customer)), params)).one()
            counts = [int(row[k] or 0) for k in range(len(steps))]
            medians = [None, *(row[len(steps) + k - 1] for k in range(1, len(steps)))]
    return [_step(steps, counts, medians, k) for k in range(len(steps))]


def _step(steps: list[str], counts: list[int], medians: list[Any], k: int) -> dict[str, Any]:
    if k == 0:
        conversion: float | None = 1.0
    else:
        conversion = counts[k] / counts[k - 1] if counts[k - 1] else None
    median = medians[k] if k else None
    return {
        "step": steps[k],
        "customers": counts[k],
        "conversion": conversion,
        "drop_off": None if conversion is None else 1 - conversion,
        "median_seconds_from_previous": None if median is None else float(median),
    }
