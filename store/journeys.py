"""The closed journey funnel of a student's customers, computed in one SQL statement.

A customer counts at a step when they have an event at that step and at every earlier step of
the list. Each customer's first event time per step comes from `customer_funnels`, a rollup the
store refreshes (in SQL, from the events) in the transaction that adds a customer's events, so
the funnel reads one row per customer instead of every event. Filtered by channel, it groups the
events themselves (`ix_customer_journey_events_funnel`). The outer query sums the running
products of the per-step flags, and takes the median time between a step's first event and the
previous step's (percentile_cont on PostgreSQL, in the same pass; on SQLite, which has no
percentile aggregate, the middle rows of each step's ordered deltas by LIMIT/OFFSET).

The whole, unfiltered Hook..Share funnel (the dashboard's view) skips even that: the rollup also
keeps each customer's depth and per-step gaps, indexed, so its counts are index ranges and its
medians index walks to the middle row.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from store.db import Database
from store.kpi_metrics import FUNNEL_STEPS

ROLLUP_COLUMNS = {step: f"{step.lower()}_first" for step in FUNNEL_STEPS}
GAP_COLUMNS = [f"{step.lower()}_gap" for step in FUNNEL_STEPS[1:]]
REFRESH_CHUNK = 500


def _epoch(dialect: str) -> str:
    if dialect == "sqlite":
        return "(julianday(timestamp) - 2440587.5) * 86400.0"
    return "EXTRACT(EPOCH FROM timestamp)"


def _firsts(dialect: str) -> str:
    return ", ".join(
        f"MIN(CASE WHEN step = '{step}' THEN {_epoch(dialect)} END) AS {ROLLUP_COLUMNS[step]}"
        for step in FUNNEL_STEPS
    )


def _derived(first: dict[str, str]) -> str:
    """The rollup's derived columns (depth and per-step gaps) from its first-time columns."""
    times = [first[step] for step in FUNNEL_STEPS]
    whens = " ".join(f"WHEN {t} IS NULL THEN {i}" for i, t in enumerate(times))
    columns = [f"CASE {whens} ELSE {len(times)} END"]
    for k in range(1, len(times)):
        reached = " AND ".join(f"{t} IS NOT NULL" for t in times[: k + 1])
        ordered = f"{times[k]} >= {times[k - 1]}"
        columns.append(f"CASE WHEN {reached} AND {ordered} THEN {times[k]} - {times[k - 1]} END")
    return ", ".join(columns)


def _rollup_insert(dialect: str, where: str) -> str:
    """INSERT the rollup rows of the events matching `where`: first times, depth and gaps."""
    firsts = ", ".join(f"{column}" for column in ROLLUP_COLUMNS.values())
    grouped = (
        f"SELECT customer_id, user_id, MIN(created_at) AS created_at, {_firsts(dialect)} "
        f"FROM customer_journey_events {where} GROUP BY customer_id, user_id"
    )
    return (
        f"INSERT INTO customer_funnels (id, customer_id, user_id, created_at, {firsts}, "
        f"depth, {', '.join(GAP_COLUMNS)}) "
        f"SELECT customer_id, customer_id, user_id, created_at, {firsts}, "
        f"{_derived(ROLLUP_COLUMNS)} FROM ({grouped}) r"
    )


async def refresh_rollup(session: AsyncSession, customer_ids: Iterable[str]) -> None:
    """Recompute these customers' `customer_funnels` rows from their events (in SQL)."""
    ids = sorted(set(customer_ids))
    dialect = session.get_bind().dialect.name
    for start in range(0, len(ids), REFRESH_CHUNK):
        chunk = {f"c{i}": c for i, c in enumerate(ids[start : start + REFRESH_CHUNK])}
        marks = ", ".join(f":{k}" for k in chunk)
        await session.execute(
            text(f"DELETE FROM customer_funnels WHERE customer_id IN ({marks})"), chunk
        )
        await session.execute(
            text(_rollup_insert(dialect, f"WHERE customer_id IN ({marks})")), chunk
        )


def rebuild_rollup_sql(dialect: str) -> str:
    """One statement filling `customer_funnels` from every event (after a bulk load)."""
    return _rollup_insert(dialect, "")


def _per_customer(steps: list[str], *, segment: bool, dialect: str) -> str:
    """Each customer's first event time per step, grouped from the events of one channel."""
    firsts = ", ".join(
        f"MIN(CASE WHEN step = :s{i} THEN {_epoch(dialect)} END) AS t{i}" for i in range(len(steps))
    )
    marks = ", ".join(f":s{i}" for i in range(len(steps)))
    where = ["user_id = :user_id", f"step IN ({marks})", "channel = :channel"]
    if segment:
        where.append(
            "customer_id IN (SELECT id FROM customers WHERE user_id = :user_id "
            "AND segment = :segment)"
        )
    return (
        f"SELECT customer_id, {firsts} FROM customer_journey_events "
        f"WHERE {' AND '.join(where)} GROUP BY customer_id"
    )


class _Source:
    """Where the per-customer first times come from: the rollup, or the events of a channel."""

    def __init__(self, steps: list[str], *, segment: bool, channel: bool, dialect: str) -> None:
        if channel:
            grouped = _per_customer(steps, segment=segment, dialect=dialect)
            materialized = "MATERIALIZED " if dialect == "sqlite" else ""
            self.prefix = f"WITH pc AS {materialized}({grouped}) "
            self.rows = "pc f"
            self.times = [f"f.t{i}" for i in range(len(steps))]
        else:
            self.prefix = ""
            join = (
                " JOIN customers c ON c.id = f.customer_id AND c.segment = :segment"
                if segment
                else ""
            )
            self.rows = f"customer_funnels f{join} WHERE f.user_id = :user_id"
            self.times = [f"f.{ROLLUP_COLUMNS[step]}" for step in steps]

    def reached(self, k: int) -> str:
        return " AND ".join(f"{t} IS NOT NULL" for t in self.times[: k + 1])

    def timed(self, k: int) -> str:
        """Counted at step k, and its first event there is not before step k-1's."""
        return f"{self.reached(k)} AND {self.times[k]} >= {self.times[k - 1]}"

    def depth(self) -> str:
        """How many leading steps of the list the customer has (0 .. len): one CASE that
        stops at the first missing step."""
        whens = " ".join(f"WHEN {t} IS NULL THEN {i}" for i, t in enumerate(self.times))
        return f"CASE {whens} ELSE {len(self.times)} END"

    def seconds(self, k: int) -> str:
        return f"({self.times[k]} - {self.times[k - 1]})"


def _counts(source: _Source, steps: list[str]) -> str:
    """PostgreSQL: customers per step, how many have step k timed after step k-1, and the
    medians (percentile_cont), all in one pass."""
    depth = source.depth()
    parts = [f"SUM(CASE WHEN {depth} > {k} THEN 1 ELSE 0 END)" for k in range(len(steps))]
    for k in range(1, len(steps)):
        parts.append(f"SUM(CASE WHEN {source.timed(k)} THEN 1 ELSE 0 END)")
    for k in range(1, len(steps)):
        delta = f"CASE WHEN {source.timed(k)} THEN {source.seconds(k)} END"
        parts.append(f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {delta})")
    return f"{source.prefix}SELECT {', '.join(parts)} FROM {source.rows}"


def _by_depth(source: _Source, steps: list[str]) -> str:
    """SQLite: customers grouped by how far they got, with how many of each group have step k
    timed after step k-1; the per-row expressions are computed once (a GROUP BY input)."""
    ordered = ", ".join(
        f"CASE WHEN {source.times[k]} >= {source.times[k - 1]} THEN 1 ELSE 0 END AS o{k}"
        for k in range(1, len(steps))
    )
    sums = "".join(f", SUM(o{k})" for k in range(1, len(steps)))
    inner = (
        f"SELECT {source.depth()} AS depth{', ' + ordered if ordered else ''} FROM {source.rows}"
    )
    return f"{source.prefix}SELECT depth, COUNT(*){sums} FROM ({inner}) GROUP BY depth"


def _sqlite_counts(groups: list[Any], n: int) -> tuple[list[int], list[int]]:
    """Customers at step k are the groups that got further than k (sums of ten aggregates)."""
    counts, timed = [0] * n, [0] * (n - 1)
    for depth, customers, *ordered in groups:
        for k in range(min(depth, n)):
            counts[k] += int(customers)
            if k:
                timed[k - 1] += int(ordered[k - 1] or 0)
    return counts, timed


def _sqlite_medians(source: _Source, timed: list[int]) -> tuple[str, dict[str, int]]:
    """SQLite has no percentile aggregate: per step, the middle one or two of the ordered
    deltas (ORDER BY ... LIMIT/OFFSET, a bounded sort), averaged."""
    columns, params = [], {}
    for k, n in enumerate(timed, start=1):
        if not n:
            columns.append("NULL")
            continue
        params[f"lim{k}"], params[f"off{k}"] = 2 - n % 2, (n - 1) // 2
        where = "WHERE" if " WHERE " not in f" {source.rows} " else "AND"
        columns.append(
            f"(SELECT AVG(v) FROM (SELECT {source.seconds(k)} AS v FROM {source.rows} "
            f"{where} {source.timed(k)} ORDER BY v LIMIT :lim{k} OFFSET :off{k}))"
        )
    return f"{source.prefix}SELECT {', '.join(columns)}", params


async def _whole_funnel(session: AsyncSession, user_id: str) -> tuple[list[int], list[Any]]:
    """Hook..Share unfiltered, from the rollup's derived columns and their indexes: customers
    per depth (one index range), then per step the count and the middle of its gaps (an index
    range each, and a walk to the middle of it)."""
    n, params = len(FUNNEL_STEPS), {"user_id": user_id}
    groups = await session.execute(
        text(
            "SELECT depth, COUNT(*) FROM customer_funnels WHERE user_id = :user_id GROUP BY depth"
        ),
        params,
    )
    counts = [0] * n
    for depth, customers in groups:
        for k in range(min(int(depth), n)):
            counts[k] += int(customers)
    having = [
        f"FROM customer_funnels WHERE user_id = :user_id AND {g} IS NOT NULL" for g in GAP_COLUMNS
    ]
    timed_sql = ", ".join(f"(SELECT COUNT(*) {where})" for where in having)
    timed = [int(t) for t in (await session.execute(text(f"SELECT {timed_sql}"), params)).one()]
    columns, limits = [], {}
    for k, (gap, where, count) in enumerate(zip(GAP_COLUMNS, having, timed, strict=True)):
        if not count:
            columns.append("NULL")
            continue
        limits[f"lim{k}"], limits[f"off{k}"] = 2 - count % 2, (count - 1) // 2
        columns.append(
            f"(SELECT AVG(v) FROM (SELECT {gap} AS v {where} ORDER BY {gap} "
            f"LIMIT :lim{k} OFFSET :off{k}) m{k})"
        )
    if not limits:
        return counts, [None] * (n - 1)
    medians = (await session.execute(text(f"SELECT {', '.join(columns)}"), params | limits)).one()
    return counts, list(medians)


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
    source = _Source(
        steps, segment=segment is not None, channel=channel is not None, dialect=db.dialect
    )
    params: dict[str, Any] = {"user_id": user_id}
    if channel is not None:
        params |= {f"s{i}": s for i, s in enumerate(steps)} | {"channel": channel}
    if segment is not None:
        params["segment"] = segment
    n = len(steps)
    if tuple(steps) == FUNNEL_STEPS and segment is None and channel is None:
        async with db.read() as session:
            counts, medians = await _whole_funnel(session, user_id)
        return [_step(steps, counts, [None, *medians], k) for k in range(n)]
    async with db.read() as session:
        if db.is_sqlite:
            groups = (await session.execute(text(_by_depth(source, steps)), params)).all()
            counts, timed = _sqlite_counts(list(groups), n)
            medians: list[Any] = [None] * (n - 1)
            if any(timed):
                sql, limits = _sqlite_medians(source, timed)
                medians = list((await session.execute(text(sql), params | limits)).one())
        else:
            row = (await session.execute(text(_counts(source, steps)), params)).one()
            counts = [int(row[k] or 0) for k in range(n)]
            medians = [row[2 * n - 1 + k] for k in range(n - 1)]
    return [_step(steps, counts, [None, *medians], k) for k in range(n)]


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
