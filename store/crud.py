"""Small helpers the table repositories share: build rows, write them, fetch by id or list.

They exist so every repository turns driver errors into domain errors the same way, and so a
misspelt field name is refused instead of silently dropped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from store.base import Base
from store.db import Database
from store.errors import InvalidValue, NotFound, integrity_conflict

M = TypeVar("M", bound=Base)
T = TypeVar("T")


def table_of(model: type[Base]) -> str:
    return model.__table__.name  # type: ignore[attr-defined, no-any-return]


def check_fields(model: type[Base], fields: dict[str, Any]) -> None:
    """Refuse names that are not columns of `model` (naming the table and the field)."""
    columns = model.__mapper__.column_attrs.keys()
    for name, value in fields.items():
        if name not in columns:
            table = table_of(model)
            raise InvalidValue(table, name, value, f"a column of {table}")


def build(model: type[M], /, **fields: Any) -> M:
    """A new, unsaved row; unknown fields and disallowed literals raise InvalidValue."""
    check_fields(model, fields)
    return model(**fields)


def assign(row: M, /, **fields: Any) -> M:
    """Set `fields` on a loaded row; unknown fields and disallowed literals raise InvalidValue."""
    check_fields(type(row), fields)
    for name, value in fields.items():
        setattr(row, name, value)
    return row


@asynccontextmanager
async def writing(db: Database, table: str) -> AsyncIterator[AsyncSession]:
    """One transaction whose integrity errors (also at commit) leave as domain errors."""
    try:
        async with db.session() as session:
            yield session
    except IntegrityError as exc:
        raise integrity_conflict(table, exc) from exc


async def add(session: AsyncSession, row: M) -> M:
    """Add `row` to the caller's transaction and flush, so its defaults (and any integrity
    error) arrive now."""
    session.add(row)
    await session.flush()
    return row


async def insert(db: Database, row: M, *, name_reference: bool = True) -> M:
    """Store `row` in its own transaction and return it with defaults filled in.

    A broken reference names the column and the missing id; with `name_reference=False` it
    keeps the constraint's own wording, which the older repositories' clients see.
    """
    try:
        async with writing(db, table_of(type(row))) as session:
            await add(session, row)
    except InvalidValue as error:
        if not name_reference:
            raise
        raise await _name_missing_reference(db, row, error) from error.__cause__
    return row


async def fetch(session: AsyncSession, model: type[M], row_id: str, /, **match: Any) -> M:
    """The row with this id, or NotFound naming the table; with `match`, a row whose columns
    differ from it (say, another group's member) is not found either."""
    row = await session.get(model, row_id)
    if row is None or any(getattr(row, name) != value for name, value in match.items()):
        raise NotFound(table_of(model), row_id)
    return row


async def get(db: Database, model: type[M], row_id: str, /, **match: Any) -> M:
    """`fetch` in a read transaction of its own (no write lock on SQLite)."""
    async with db.read() as session:
        return await fetch(session, model, row_id, **match)


async def first(db: Database, query: Select[tuple[T]]) -> T | None:
    """The first result of `query`, or None (a read transaction)."""
    async with db.read() as session:
        return await session.scalar(query)


async def scalars(db: Database, query: Select[tuple[T]]) -> list[T]:
    """Every result of `query`, in its order (a read transaction)."""
    async with db.read() as session:
        return list(await session.scalars(query))


async def update(
    db: Database, model: type[M], row_id: str, /, *, name_reference: bool = True, **fields: Any
) -> M:
    """Set `fields` on an existing row; unknown fields raise InvalidValue, a missing row
    NotFound, a broken reference InvalidValue worded as in `insert`."""
    check_fields(model, fields)
    try:
        async with writing(db, table_of(model)) as session:
            row = await fetch(session, model, row_id)
            assign(row, **fields)
            await session.flush()
    except InvalidValue as error:
        if not name_reference:
            raise
        raise await _name_missing_reference(db, row, error) from error.__cause__
    return row


async def _name_missing_reference(db: Database, row: Base, error: InvalidValue) -> InvalidValue:
    """Name the column whose reference is missing (SQLite's message names no constraint)."""
    if error.value is not None or "existing row" not in str(error):
        return error
    table = row.__table__  # type: ignore[attr-defined]
    async with db.session() as session:
        for column in table.columns:
            value = getattr(row, column.key, None)
            if value is None or not column.foreign_keys:
                continue
            target = next(iter(column.foreign_keys)).column
            found = await session.scalar(select(target).where(target == value))
            if found is None:
                return InvalidValue(
                    table.name, column.key, value, f"the id of an existing {target.table.name} row"
                )
    return error
