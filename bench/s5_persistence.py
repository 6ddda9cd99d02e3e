"""Scenario 5, persistence: messages stored per second through `Messages.append` against the
same two statements (take the next `seq`, insert the row) sent by the raw drivers.

Same database file or server, same migrated table and indexes, same columns, one transaction
per message, same durability (SQLite: WAL with synchronous=NORMAL and `BEGIN IMMEDIATE`, as
`store.db` sets it; PostgreSQL: the server's default synchronous commit for every client).
"""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime

import aiosqlite
import asyncpg
from ulid import ULID

from bench.fixtures import (
    create_room,
    fresh_postgres,
    fresh_sqlite,
    is_postgres,
    plain_postgres_dsn,
    sqlite_path,
)
from bench.harness import OURS, Config, ScenarioResult, Target, compare, interleave
from store.db import Database
from store.messages import Messages

TITLE = "Persistence: messages stored per second (one transaction each)"
UNIT = "msg/s"
CONTENT = "A message of about the length people type in a group chat, give or take."

NEXT_SEQ = (
    "UPDATE conversations SET last_message_time={p}, last_seq=last_seq + 1 "
    "WHERE id={p} RETURNING last_seq"
)
INSERT = (
    "INSERT INTO conversation_messages (id, created_at, conversation_id, seq, "
    "author_participant_id, kind, type, status, content) VALUES ({values})"
)


def _sqlite_sql() -> tuple[str, str]:
    return NEXT_SEQ.format(p="?"), INSERT.format(values=", ".join("?" * 9))


def _pg_sql() -> tuple[str, str]:
    return (
        "UPDATE conversations SET last_message_time=$1, last_seq=last_seq + 1 "
        "WHERE id=$2 RETURNING last_seq",
        INSERT.format(values=", ".join(f"${i}" for i in range(1, 10))),
    )


def _timed(count: int, started: float) -> list[float]:
    return [count / (time.perf_counter() - started)]


def ours(db: Database, conversation_id: str, author: str, count: int):
    messages = Messages(db)

    async def batch() -> list[float]:
        started = time.perf_counter()
        for _ in range(count):
            await messages.append(conversation_id, CONTENT, author_participant_id=author)
        return _timed(count, started)

    return batch


def raw_sqlite3(path: str, conversation_id: str, author: str, count: int):
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        connection.execute(f"PRAGMA {pragma}")
    next_seq, insert = _sqlite_sql()

    async def batch() -> list[float]:
        started = time.perf_counter()
        for _ in range(count):
            now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            connection.execute("BEGIN IMMEDIATE")
            seq = connection.execute(next_seq, (now, conversation_id)).fetchone()[0]
            connection.execute(
                insert,
                (
                    str(ULID()),
                    now,
                    conversation_id,
                    seq,
                    author,
                    "participant",
                    "chat",
                    "complete",
                    CONTENT,
                ),
            )
            connection.execute("COMMIT")
        return _timed(count, started)

    return batch, connection.close


async def raw_aiosqlite(path: str, conversation_id: str, author: str, count: int):
    connection = await aiosqlite.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
        await connection.execute(f"PRAGMA {pragma}")
    next_seq, insert = _sqlite_sql()

    async def batch() -> list[float]:
        started = time.perf_counter()
        for _ in range(count):
            now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            await connection.execute("BEGIN IMMEDIATE")
            async with connection.execute(next_seq, (now, conversation_id)) as cursor:
                seq = (await cursor.fetchone())[0]
            await connection.execute(
                insert,
                (
                    str(ULID()),
                    now,
                    conversation_id,
                    seq,
                    author,
                    "participant",
                    "chat",
                    "complete",
                    CONTENT,
                ),
            )
            await connection.execute("COMMIT")
        return _timed(count, started)

    return batch, connection.close


async def raw_asyncpg(dsn: str, conversation_id: str, author: str, count: int):
    connection = await asyncpg.connect(dsn)
    next_seq, insert = _pg_sql()

    async def batch() -> list[float]:
        started = time.perf_counter()
        for _ in range(count):
            now = datetime.now(UTC)
            async with connection.transaction():
                seq = await connection.fetchval(next_seq, now, conversation_id)
                await connection.execute(
                    insert,
                    str(ULID()),
                    now,
                    conversation_id,
                    seq,
                    author,
                    "participant",
                    "chat",
                    "complete",
                    CONTENT,
                )
        return _timed(count, started)

    return batch, connection.close


async def _sqlite_case(config: Config, result: ScenarioResult) -> None:
    count, rounds = config.scale(200, 20), config.scale(15, 3)
    url = await fresh_sqlite("s5")
    db = Database(url)
    try:
        rooms = [await create_room(db, agents=0) for _ in range(3)]
        path = sqlite_path(url)
        raw, close_raw = raw_sqlite3(
            path, rooms[1].conversation_id, rooms[1].user_participant_id, count
        )
        araw, close_araw = await raw_aiosqlite(
            path, rooms[2].conversation_id, rooms[2].user_participant_id, count
        )
        try:
            samples = await interleave(
                {
                    OURS: ours(db, rooms[0].conversation_id, rooms[0].user_participant_id, count),
                    "sqlite3 (raw SQL)": raw,
                    "aiosqlite (raw SQL)": araw,
                },
                rounds,
            )
        finally:
            close_raw()
            await close_araw()
    finally:
        await db.close()
    case = "SQLite (WAL, synchronous=NORMAL)"
    for system, values in samples.items():
        result.add(case, system, UNIT, values)
    result.relate(case, "sqlite3 (raw SQL)")
    _target(result, case, "sqlite3 (raw SQL)")


async def _postgres_case(config: Config, result: ScenarioResult) -> None:
    case = "PostgreSQL (synchronous_commit=on)"
    if not is_postgres(config.database_url):
        result.missing(case, OURS, UNIT, "no PostgreSQL URL given (--database-url)")
        return
    count, rounds = config.scale(200, 20), config.scale(15, 3)
    url = await fresh_postgres(config.database_url)
    db = Database(url)
    try:
        rooms = [await create_room(db, agents=0) for _ in range(2)]
        raw, close_raw = await raw_asyncpg(
            plain_postgres_dsn(url), rooms[1].conversation_id, rooms[1].user_participant_id, count
        )
        try:
            samples = await interleave(
                {
                    OURS: ours(db, rooms[0].conversation_id, rooms[0].user_participant_id, count),
                    "asyncpg (raw SQL)": raw,
                },
                rounds,
            )
        finally:
            await close_raw()
    finally:
        await db.close()
    for system, values in samples.items():
        result.add(case, system, UNIT, values)
    result.relate(case, "asyncpg (raw SQL)")
    _target(result, case, "asyncpg (raw SQL)")


def _target(result: ScenarioResult, case: str, raw: str) -> None:
    measured, met = compare(result.median(case, OURS), result.median(case, raw), lambda r: r >= 0.7)
    result.targets.append(Target("5", f"{case}: at least 70% of {raw}", measured, met))


async def run(config: Config) -> ScenarioResult:
    result = ScenarioResult("5", TITLE)
    await _sqlite_case(config, result)
    await _postgres_case(config, result)
    return result
