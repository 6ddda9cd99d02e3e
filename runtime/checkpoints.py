"""LangGraph checkpointers chosen by the database URL, so an interrupted turn's state is kept.

SQLite databases get an `AsyncSqliteSaver` on a file next to the database (`<name>.checkpoints
.sqlite`: the saver's own connection must not contend with the store's write lock); PostgreSQL
gets an `AsyncPostgresSaver` on a psycopg pool in the same database; an in-memory SQLite URL
gets LangGraph's in-memory saver. Each turn is one thread (`thread_id` = turn id).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from langgraph.checkpoint.base import BaseCheckpointSaver
from sqlalchemy.engine import make_url

from runtime.settings import Settings


def checkpoint_path(database: str) -> Path:
    """Where the checkpoints of a SQLite database file live."""
    path = Path(database).expanduser()
    return path.with_name(f"{path.stem}.checkpoints.sqlite")


def postgres_conninfo(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL (any driver) as a libpq/psycopg connection string."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@asynccontextmanager
async def open_checkpointer(settings: Settings) -> AsyncIterator[BaseCheckpointSaver]:
    """The checkpointer for `settings.resolved_database_url`, set up and closed on exit."""
    url = make_url(settings.resolved_database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        if url.database in (None, "", ":memory:"):
            from langgraph.checkpoint.memory import InMemorySaver

            yield InMemorySaver()
            return
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        path = checkpoint_path(url.database)
        path.parent.mkdir(parents=True, exist_ok=True)
        async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
            await saver.setup()
            yield saver
        return
    if backend == "postgresql":
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool

        pool = AsyncConnectionPool(
            postgres_conninfo(settings.resolved_database_url),
            min_size=1,
            max_size=10,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
            open=False,
        )
        await pool.open()
        try:
            saver = AsyncPostgresSaver(conn=pool)
            await saver.setup()
            yield saver
        finally:
            await pool.close()
        return
    raise ValueError(f"no checkpointer for database backend {backend!r} (sqlite or postgresql)")
