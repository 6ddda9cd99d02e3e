"""`python -m bench.kpis`: the KPI queries on a large student and a large course.

A student with 1,000,000 journey events and 1,000 snapshots, and a course of 10,000 students;
the summary, the closed journey funnel (nine steps, with medians) and the staff course
analytics, timed through the store functions the REST routes call, on SQLite and (with
`--database-url`, a database kept for benchmarks: it is wiped) PostgreSQL. Targets: under
200 ms on PostgreSQL, under 1 s on SQLite (medians).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.fixtures import fresh_postgres, fresh_sqlite, plain_postgres_dsn, sqlite_path
from bench.harness import stats
from bench.kpis_data import FULL, QUICK, STUDENT, Size, load_postgres, load_sqlite
from store.course_analytics import course_analytics
from store.db import Database
from store.journeys import closed_funnel
from store.kpis import summary

MET = {True: "yes", False: "NO", None: "(reference)"}
TARGET_MS = {"SQLite": 1000.0, "PostgreSQL": 200.0}
DEFAULT_JSON = Path(__file__).parent / "kpis_results.json"

Query = Callable[[Database], Awaitable[Any]]


async def _reference(db: Database) -> Any:
    """A bare scan for scale: counting the student's events through their index, in the same
    run (on a loaded machine, compare the queries with this rather than with the targets)."""
    async with db.read() as session:
        query = text("SELECT COUNT(*) FROM customer_journey_events WHERE user_id = :u")
        return await session.scalar(query, {"u": STUDENT})


QUERIES: dict[str, Query] = {
    "reference: count the student's events": _reference,
    "summary": lambda db: summary(db, STUDENT),
    "journey funnel": lambda db: closed_funnel(db, STUDENT),
    "course analytics": lambda db: course_analytics(db),
}


async def measure(db: Database, rounds: int) -> dict[str, list[float]]:
    """Milliseconds per call, interleaving the queries round by round after a warm-up."""
    samples: dict[str, list[float]] = {name: [] for name in QUERIES}
    for query in QUERIES.values():
        await query(db)
    for _ in range(rounds):
        for name, query in QUERIES.items():
            started = time.perf_counter()
            await query(db)
            samples[name].append((time.perf_counter() - started) * 1000)
    return samples


async def backend(name: str, url: str, size: Size, rounds: int) -> list[dict[str, Any]]:
    started = time.perf_counter()
    if name == "SQLite":
        url = await fresh_sqlite("kpis-quick" if size.events < FULL.events else "kpis")
        await asyncio.to_thread(load_sqlite, sqlite_path(url), size)
    else:
        url = await fresh_postgres(url)
        await load_postgres(plain_postgres_dsn(url), size)
    loaded = time.perf_counter() - started
    print(f"{name}: data loaded in {loaded:.1f}s", file=sys.stderr, flush=True)
    db = Database(url)
    try:
        samples = await measure(db, rounds)
    finally:
        await db.close()
    rows = []
    for query, values in samples.items():
        s = stats(values)
        target = TARGET_MS[name]
        rows.append(
            {
                "backend": name,
                "query": query,
                "median_ms": round(s.median, 1),
                "p99_ms": round(s.p99, 1),
                "n": s.n,
                "target_ms": target,
                "met": s.median < target if not query.startswith("reference") else None,
                "load_s": round(loaded, 1),
            }
        )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| backend | query | median ms | p99 ms | n | target | met |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['backend']} | {r['query']} | {r['median_ms']} | {r['p99_ms']} | {r['n']} | "
            f"< {r['target_ms']:.0f} ms | {MET[r['met']]} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.kpis", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny data: checks it runs")
    parser.add_argument("--rounds", type=int, default=None, help="timed calls per query")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL"),
        help="PostgreSQL kept for benchmarks (wiped); default $BENCH_DATABASE_URL",
    )
    args = parser.parse_args(argv)
    size = QUICK if args.quick else FULL
    rounds = args.rounds or (3 if args.quick else 15)
    backends = [("SQLite", "")] + ([("PostgreSQL", args.database_url)] if args.database_url else [])
    rows: list[dict[str, Any]] = []
    for name, url in backends:
        rows += asyncio.run(backend(name, url, size, rounds))
    text = table(rows)
    print(text)
    report = {"size": size.__dict__, "quick": args.quick, "rows": rows, "table": text}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
