"""Alembic environment: runs the migrations on the async engine of the configured URL."""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

import store.models  # noqa: F401  (registers every table on the metadata)
from store.base import Base
from store.db import Database
from store.memory_index import is_index_object

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # The memory search index is built by its migration and has no model to compare.
        include_name=lambda name, *_: not is_index_object(name),
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    db = Database(url)
    try:
        async with db.engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await db.close()


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    asyncio.run(_run_async(context.config.get_main_option("sqlalchemy.url")))


if context.is_offline_mode():
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run()
