"""Bulk data for the KPI benchmark: one student with many journey events and snapshots, and a
course of many students with progress, feedback, tickets and assets.

Rows go in with the drivers' bulk paths (sqlite3 `executemany` in one transaction, asyncpg
`copy_records_to_table`), not the ORM: generating a million events must take seconds.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from store.journeys import rebuild_rollup_sql
from store.kpi_metrics import FUNNEL_STEPS, METRICS, RATE_METRICS

START = datetime(2023, 1, 1, tzinfo=UTC)
CHANNELS = ("ads", "email", "organic")
STATUSES = ("Not Started", "In Progress", "Completed")
STUDENT = "0" * 25 + "S"


@dataclass(frozen=True)
class Size:
    events: int
    events_per_customer: int
    snapshots: int
    students: int


FULL = Size(events=1_000_000, events_per_customer=10, snapshots=1_000, students=10_000)
QUICK = Size(events=20_000, events_per_customer=10, snapshots=20, students=200)


def _id(prefix: str, number: int) -> str:
    """Unique 26-character ids that sort like ULIDs do (by creation)."""
    return f"{prefix}{number:0>{26 - len(prefix)}}"


def tables(size: Size) -> Iterator[tuple[str, list[str], list[tuple[Any, ...]]]]:
    """(table, columns, rows) in foreign-key order."""
    rng = random.Random(42)
    users = [(STUDENT, "Bench Student", "student@bench.test", False, False, START)]
    users += [
        (_id("U", i), f"S{i}", f"s{i}@bench.test", False, False, START)
        for i in range(size.students - 1)
    ]
    users.append((_id("A", 0), "Owner", "owner@bench.test", False, True, START))
    yield "users", ["id", "name", "email", "is_anonymous", "is_staff", "created_at"], users

    modules = [
        (_id("M", n), n, step, f"Module {n}", "Learn", START)
        for n, step in enumerate(("Foundation", *FUNNEL_STEPS))
    ]
    yield (
        "course_modules",
        ["id", "module_number", "step", "title", "objective", "created_at"],
        (modules),
    )
    yield from _course(rng, size, [u[0] for u in users if not u[4]], modules)
    yield from _journeys(rng, size)
    yield "user_funnel_snapshots", _snapshot_columns(), list(_snapshots(rng, size))


def _course(
    rng: random.Random, size: Size, students: list[str], modules: list[tuple[Any, ...]]
) -> Iterator[tuple[str, list[str], list[tuple[Any, ...]]]]:
    progress, feedback, tickets, assets = [], [], [], []
    for i, student in enumerate(students):
        depth = rng.randint(0, len(modules))
        for module_id, number, step, *_ in modules[:depth]:
            done = number < depth - 1
            status = "Completed" if done else "In Progress"
            progress.append((_id("P", len(progress)), student, module_id, status, START))
            if rng.random() < 0.2:
                csat, nps = rng.randint(1, 5), rng.randint(0, 10)
                feedback.append((_id("F", len(feedback)), student, module_id, csat, nps, START))
            if rng.random() < 0.3:
                assets.append(
                    (_id("G", len(assets)), student, step, "ad", "copy", "Draft", START, START)
                )
        if i % 4 == 0 and depth:
            module_id = modules[depth - 1][0]
            status = rng.choice(("open", "closed"))
            tickets.append(
                (_id("T", len(tickets)), student, module_id, "Stuck", "?", status, START)
            )
    yield "user_module_progress", ["id", "user_id", "module_id", "status", "created_at"], progress
    yield "user_feedback", ["id", "user_id", "module_id", "csat", "nps", "created_at"], feedback
    yield (
        "support_tickets",
        ["id", "user_id", "module_id", "subject", "message", "status", "created_at"],
        tickets,
    )
    yield (
        "user_generated_assets",
        [
            "id", "user_id", "elevate_step", "asset_type", "content", "status",
            "last_updated_at", "created_at",
        ],
        assets,
    )  # fmt: skip


def _journeys(
    rng: random.Random, size: Size
) -> Iterator[tuple[str, list[str], list[tuple[Any, ...]]]]:
    """Each customer walks the funnel to a random depth (fewer go further), then repeats
    events at steps already reached, `events_per_customer` events in all."""
    count = size.events // size.events_per_customer
    customers = [
        (_id("C", c), STUDENT, f"C{c}", rng.choice(("vip", "new", "returning")), START)
        for c in range(count)
    ]
    yield "customers", ["id", "user_id", "name", "segment", "created_at"], customers
    events = []
    for c in range(count):
        depth = 1
        while depth < len(FUNNEL_STEPS) and rng.random() < 0.75:
            depth += 1
        when = START + timedelta(minutes=rng.randint(0, 500_000))
        channel = rng.choice(CHANNELS)
        steps = list(FUNNEL_STEPS[:depth])
        steps += [rng.choice(steps) for _ in range(size.events_per_customer - depth)]
        for step in steps:
            when += timedelta(minutes=rng.randint(1, 3000))
            events.append((_id("E", len(events)), _id("C", c), STUDENT, step, channel, when, when))
    columns = ["id", "customer_id", "user_id", "step", "channel", "timestamp", "created_at"]
    yield "customer_journey_events", columns, events


def _snapshot_columns() -> list[str]:
    return ["id", "user_id", "snapshot_date", "time_period", "channel", *METRICS, "created_at"]


def _snapshots(rng: random.Random, size: Size) -> Iterator[tuple[Any, ...]]:
    for n in range(size.snapshots):
        values = [rng.random() if m in RATE_METRICS else rng.uniform(1, 500) for m in METRICS]
        day = START + timedelta(days=n)
        yield (_id("N", n), STUDENT, day, "day", rng.choice(CHANNELS), *values, day)


def _sqlite_value(value: Any) -> Any:
    # The format SQLAlchemy's DateTime stores on SQLite, so comparisons and julianday agree.
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def load_sqlite(path: str, size: Size) -> None:
    connection = sqlite3.connect(path)
    try:
        with connection:
            for table, columns, rows in tables(size):
                marks = ", ".join("?" for _ in columns)
                connection.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                    ([_sqlite_value(v) for v in row] for row in rows),
                )
            connection.execute(rebuild_rollup_sql("sqlite"))
        connection.execute("ANALYZE")
    finally:
        connection.close()


async def load_postgres(dsn: str, size: Size) -> None:
    import asyncpg

    connection = await asyncpg.connect(dsn)
    try:
        for table, columns, rows in tables(size):
            await connection.copy_records_to_table(table, records=rows, columns=columns)
        await connection.execute(rebuild_rollup_sql("postgresql"))
        # Index-only scans need the visibility map; the planner needs statistics.
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()
