"""Shared fixtures: the same tests run on the embedded backends and on PostgreSQL/Redis.

`DATABASE_URL` and `REDIS_URL` choose the backends, exactly as they do for the server. When CI
asks for a service (`DATABASE_URL`/`REDIS_URL` set) and it is unreachable, tests fail; they never
skip silently.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from runtime.settings import Settings
from store.base import Base
from store.db import Database
from store.migrate import upgrade

# The offline model streams at a readable pace by default; tests do not wait for it.
os.environ.setdefault("ELEVATE_OFFLINE_STREAM_DELAY_MS", "0")

DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")


def is_postgres() -> bool:
    return DATABASE_URL.startswith(("postgres", "postgresql"))


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database: a template SQLite file, or the PostgreSQL database itself."""
    if is_postgres():
        asyncio.run(_reset_postgres(DATABASE_URL))
        asyncio.run(upgrade(DATABASE_URL))
        return DATABASE_URL
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    url = f"sqlite+aiosqlite:///{path}"
    asyncio.run(upgrade(url))
    return url


async def _reset_postgres(url: str) -> None:
    db = Database(url)
    try:
        async with db.engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await db.close()


async def _truncate_postgres(url: str) -> None:
    db = Database(url)
    try:
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        async with db.engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        await db.close()


@pytest.fixture
def database_url(migrated_template: str, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database for one test: a copy of the SQLite template, or a truncated
    PostgreSQL database."""
    if is_postgres():
        asyncio.run(_truncate_postgres(migrated_template))
        yield migrated_template
        return
    source = Path(migrated_template.split("///", 1)[1])
    target = tmp_path / "test.sqlite"
    shutil.copyfile(source, target)
    yield f"sqlite+aiosqlite:///{target}"


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def redis_url() -> str | None:
    """`REDIS_URL` when the run asked for Redis, else None (the in-process backends)."""
    return REDIS_URL or None


@pytest.fixture
def make_settings(
    database_url: str, redis_url: str | None, tmp_path: Path
) -> Callable[..., Settings]:
    """Settings on this test's database and bus, offline, with per-test overrides."""

    def build(**overrides: Any) -> Settings:
        return Settings(
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            OPENAI_API_KEY=None,
            OPENAI_BASE_URL=None,
            data_dir=tmp_path,
            environment="test",
            **overrides,
        )

    return build
