"""Read sessions do not queue behind writers; pooled connections survive commits and the server."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy import select, text, update

from store.db import Database
from store.messages import Messages
from store.models import Conversation, User
from tests.store import factories
from tests.store.test_messages import room


async def test_sqlite_read_completes_while_another_connection_holds_the_write_lock(
    db: Database,
) -> None:
    if not db.is_sqlite:
        pytest.skip("PostgreSQL reads never wait for writers")
    conversation, author = await room(db)
    await Messages(db).append(conversation.id, "one", author_participant_id=author.id)
    path = db.engine.url.database
    assert path is not None
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE conversations SET last_seq = 99 WHERE id = ?", (conversation.id,))
        # A write session would now wait for the busy timeout; a read sees the last commit.
        async with db.read() as session:
            seen = await session.scalar(
                select(Conversation.last_seq).where(Conversation.id == conversation.id)
            )
        assert seen == 1
        assert await Messages(db).last_seq(conversation.id) == 1
        assert [m.content for m in await Messages(db).latest(conversation.id)] == ["one"]
    finally:
        writer.execute("ROLLBACK")
        writer.close()


async def test_a_read_session_refuses_to_write(db: Database) -> None:
    with pytest.raises(RuntimeError, match="read session cannot write"):
        async with db.read() as session:
            session.add(User(name="Nobody", email="nobody@example.com"))
    async with db.read() as session:
        assert await session.scalar(select(User).where(User.name == "Nobody")) is None


async def test_sessions_after_commits_and_failures_still_write(db: Database) -> None:
    conversation, author = await room(db)
    messages = Messages(db)
    with pytest.raises(ZeroDivisionError):
        async with db.session() as session:
            await session.execute(
                update(Conversation).where(Conversation.id == conversation.id).values(title="x")
            )
            raise ZeroDivisionError
    for i in range(3):
        await messages.append(conversation.id, f"m{i}", author_participant_id=author.id)
        assert await messages.last_seq(conversation.id) == i + 1
    async with db.read() as session:
        title = await session.scalar(
            select(Conversation.title).where(Conversation.id == conversation.id)
        )
    assert title == "Room"


@pytest.mark.postgres
async def test_a_connection_the_server_closed_is_replaced_without_an_error(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("needs DATABASE_URL on PostgreSQL: SQLite has no server to drop connections")
    await factories.user(db)
    async with db.session() as session:
        pid = await session.scalar(text("SELECT pg_backend_pid()"))
        raw = await (await session.connection()).get_raw_connection()
        driver = raw.dbapi_connection._connection
    admin = Database(db.url)
    try:
        async with admin.session() as session:
            await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await admin.close()
    # Bounded wait for the event loop to read the server's goodbye on the idle socket.
    for _ in range(500):
        if driver.is_closed():
            break
        await asyncio.sleep(0.01)
    assert driver.is_closed()

    async with db.read() as session:
        assert await session.scalar(select(User.name)) == "Ada"
        assert await session.scalar(text("SELECT pg_backend_pid()")) != pid
