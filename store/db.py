"""The database handle: one async engine per URL, write and read sessions, pool settings.

SQLite (the embedded default) runs in WAL mode. Write sessions begin with `BEGIN IMMEDIATE`, so
concurrent writers queue on the busy timeout instead of failing on a lock upgrade; read sessions
begin with a deferred `BEGIN`, so they read a WAL snapshot without queueing behind writers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool, PoolResetState
from sqlalchemy.util.concurrency import await_

ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}

# Execution option marking a read-only connection; the SQLite begin listener reads it.
READ_ONLY = "elevate_read_only"

# Longer than any transaction, shorter than the idle timeouts of proxies and firewalls.
POOL_RECYCLE_SECONDS = 1800


def async_url(url: str) -> str:
    """Normalise a plain `sqlite:///` or `postgresql://` URL to its async driver."""
    parsed = make_url(url)
    if parsed.drivername in ASYNC_DRIVERS:
        parsed = parsed.set(drivername=ASYNC_DRIVERS[parsed.drivername])
    elif parsed.drivername in ("postgres",):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def _aiosqlite(dbapi_connection: Any) -> Any:
    """The aiosqlite connection behind SQLAlchemy's adapter (one worker thread per connection)."""
    return dbapi_connection._connection


def _begin(connection: Any, statement: str) -> None:
    """BEGIN, on the driver's own thread. A transaction still open there was left by a task
    cancelled around its BEGIN (a client that vanished mid-frame): the pool took the
    connection back before the queued BEGIN ran. Nobody will commit it, so it is rolled back;
    otherwise every later session on the connection fails to begin."""
    if connection.in_transaction:
        connection.rollback()
    connection.execute(statement)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide where transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        statement = "BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE"
        # Straight to aiosqlite: one hop to its thread, where a SQLAlchemy cursor costs three.
        driver = _aiosqlite(conn.connection.dbapi_connection)
        await_(driver._execute(_begin, driver._conn, statement))

    @event.listens_for(engine.sync_engine.pool, "reset")
    def _on_reset(dbapi_connection: Any, _record: Any, state: PoolResetState) -> None:
        # The pool's own reset is off: after a commit it would cost a ROLLBACK hop for nothing.
        # Only a connection really left inside a transaction is rolled back here.
        if state.asyncio_safe and _aiosqlite(dbapi_connection)._conn.in_transaction:
            dbapi_connection.rollback()


def _configure_postgres(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine.pool, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        # Instead of a pre-ping round trip: a connection whose socket the server closed
        # (restart, idle timeout) is known closed locally; the pool then opens a fresh one.
        if dbapi_connection._connection.is_closed():
            raise DisconnectionError("connection closed by the server")


class _ReadSession(Session):
    """A session that refuses to flush: reads only, on a transaction that may not write."""


@event.listens_for(_ReadSession, "before_flush")
def _refuse_flush(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("a read session cannot write; use Database.session()")


class Database:
    """An engine and session factories for one database URL.

    Nothing connects until the first query; `close()` releases the pool.
    """

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10) -> None:
        self.url = async_url(url)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        kwargs: dict[str, Any] = {"echo": echo}
        read_options: dict[str, Any] = {READ_ONLY: True}
        if self.dialect == "sqlite":
            database = parsed.database
            if database and database != ":memory:":
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            if database in (None, "", ":memory:"):
                kwargs["poolclass"] = NullPool
            kwargs["connect_args"] = {"timeout": 30}
            kwargs["pool_reset_on_return"] = None
        else:
            kwargs.update(
                pool_size=pool_size,
                max_overflow=pool_size * 2,
                pool_recycle=POOL_RECYCLE_SECONDS,
            )
            read_options["postgresql_readonly"] = True
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine)
        else:
            _configure_postgres(self.engine)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessionmaker = async_sessionmaker(
            self.engine.execution_options(**read_options),
            expire_on_commit=False,
            sync_session_class=_ReadSession,
        )

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session in one write transaction: committed on success, rolled back on error."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session in one read-only transaction, for reads that write nothing afterwards.

        On SQLite it begins deferred, so it does not wait for writers; a session that reads
        and then writes must use `session()` instead, or its write could fail on a snapshot
        that a concurrent writer made stale.
        """
        async with self.read_sessionmaker() as session, session.begin():
            yield session

    async def close(self) -> None:
        await self.engine.dispose()
