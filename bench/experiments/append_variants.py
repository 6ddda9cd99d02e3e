"""Where `Messages.append` loses to the raw driver, one change at a time (scenario 5's follow-up).

Variants, interleaved on the same database: the store as it is; the store with its pool's
per-checkout round trip removed (PostgreSQL `pool_pre_ping`) or its per-transaction rollback
on return removed (SQLite `reset_on_return`); the same two statements as SQLAlchemy Core on the
store's engine (no ORM unit of work); and the raw driver. Run:
`python -m bench.experiments.append_variants [--database-url postgresql://...]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from bench import s5_persistence as s5
from bench.fixtures import create_room, fresh_postgres, fresh_sqlite, is_postgres, sqlite_path
from bench.harness import Batch, ScenarioResult, interleave, table
from store.base import utcnow
from store.db import Database, _configure_sqlite
from store.ids import new_id
from store.models import Conversation, ConversationMessage

COUNT, ROUNDS = 200, 10


def core_batch(db: Database, conversation_id: str, author: str) -> Batch:
    async def batch() -> list[float]:
        started = time.perf_counter()
        for _ in range(COUNT):
            async with db.engine.begin() as connection:
                seq = (
                    await connection.execute(
                        update(Conversation)
                        .where(Conversation.id == conversation_id)
                        .values(last_seq=Conversation.last_seq + 1, last_message_time=utcnow())
                        .returning(Conversation.last_seq)
                    )
                ).scalar_one()
                await connection.execute(
                    insert(ConversationMessage).values(
                        id=new_id(),
                        created_at=utcnow(),
                        conversation_id=conversation_id,
                        seq=seq,
                        author_participant_id=author,
                        kind="participant",
                        type="chat",
                        status="complete",
                        content=s5.CONTENT,
                    )
                )
        return [COUNT / (time.perf_counter() - started)]

    return batch


def tuned(url: str, **engine: Any) -> Database:
    """A `Database` whose engine differs from the store's by `engine` keyword arguments."""
    db = Database(url)
    kwargs: dict[str, Any] = {"connect_args": {"timeout": 30}} if db.is_sqlite else {}
    if not db.is_sqlite:
        kwargs.update(pool_size=10, max_overflow=20)
    db.engine = create_async_engine(db.url, **kwargs, **engine)
    if db.is_sqlite:
        _configure_sqlite(db.engine)
    db.sessionmaker = async_sessionmaker(db.engine, expire_on_commit=False)
    return db


async def measure(url: str) -> ScenarioResult:
    postgres = is_postgres(url)
    stock = Database(url)
    variant = tuned(url, pool_pre_ping=False) if postgres else tuned(url, pool_reset_on_return=None)
    rooms = [await create_room(stock, agents=0) for _ in range(4)]
    ids = [(r.conversation_id, r.user_participant_id) for r in rooms]
    if postgres:
        raw, close = await s5.raw_asyncpg(s5.plain_postgres_dsn(url), *ids[3], COUNT)
        raw_name, change = "asyncpg (raw SQL)", "append, pool_pre_ping off"
    else:
        raw, close = s5.raw_sqlite3(sqlite_path(url), *ids[3], COUNT)
        raw_name, change = "sqlite3 (raw SQL)", "append, no rollback on return"
    batches = {
        "Messages.append (store as is)": s5.ours(stock, *ids[0], COUNT),
        change: s5.ours(variant, *ids[1], COUNT),
        "Core statements, store engine": core_batch(stock, *ids[2]),
        raw_name: raw,
    }
    try:
        await interleave(batches, 1)
        samples = await interleave(batches, ROUNDS)
    finally:
        result = close()
        if asyncio.iscoroutine(result):
            await result
        await stock.close()
        await variant.close()
    outcome = ScenarioResult("5x", "append variants")
    case = "PostgreSQL" if postgres else "SQLite"
    for name, values in samples.items():
        outcome.add(case, name, s5.UNIT, values)
    outcome.relate(case, raw_name)
    return outcome


async def main(database_url: str | None) -> None:
    results = [await measure(await fresh_sqlite("append-variants"))]
    if is_postgres(database_url):
        results.append(await measure(await fresh_postgres(database_url)))
    print(table(results))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    asyncio.run(main(parser.parse_args().database_url))
