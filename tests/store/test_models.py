"""Every table stores and returns what it was given; constraints hold in Python and in SQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import JSON, Boolean, Float, Integer, String, Table, insert, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from store import crud
from store.base import Base
from store.db import Database
from store.errors import InvalidValue, integrity_conflict
from store.ids import new_id
from store.models import (
    Conversation,
    ConversationMessage,
    ConversationParticipant,
    GroupMember,
    Memory,
    UserGeneratedAsset,
    UserModuleProgress,
    UserPromptExecution,
)
from store.vector_type import Vector
from tests.store import factories

# A moment with microseconds, given in a non-UTC zone: it must come back as the same instant.
WHEN = datetime(2024, 2, 29, 23, 45, 7, 123456, tzinfo=timezone(timedelta(hours=2)))
JSON_OBJECT = {"nested": {"list": [1, 2.5, "ünïcode ✓", None, True]}, "empty": {}}
JSON_LIST = ["a", {"b": [1, None]}, 3]
LIST_COLUMNS = {
    "tags",
    "delegates_to",
    "attached_prompts",
    "tools",
    "required_context",
    "checklist_items",
    "attachments",
}
# Columns whose value must agree with a CHECK across columns, per table.
OVERRIDES: dict[str, dict[str, Any]] = {
    "group_members": {"kind": "user", "agent_id": None},
    "conversation_participants": {"kind": "user", "agent_id": None},
    "memories": {"scope": "user", "group_id": None},
    "conversation_messages": {"kind": "participant"},
    "usage_budgets": {"subject": "user", "agent_id": None},
}


def sample(table: Table, column: Any, parents: dict[str, Any]) -> Any:
    """A value for `column` that exercises its type (and fits its length)."""
    if column.foreign_keys:
        target = next(iter(column.foreign_keys)).column.table.name
        return parents[target].id if target in parents else None
    choices = column.info.get("choices")
    if choices:
        return choices[-1]
    kind = column.type
    if isinstance(kind, JSON):
        return JSON_LIST if column.name in LIST_COLUMNS else JSON_OBJECT
    if isinstance(kind, Vector):
        return [0.5, -0.25, 1.0]  # exact in float32
    if isinstance(kind, Boolean):
        return True
    if isinstance(kind, Integer):
        return 7
    if isinstance(kind, Float):
        return 12.375
    if column.name.endswith(("_at", "_time", "timestamp", "_date")):
        return WHEN
    if isinstance(kind, String):
        value = f"{table.name}.{column.name} ü ✓"
        return value[: kind.length] if kind.length else value + "\nsecond line"
    raise AssertionError(f"no sample for {table.name}.{column.name} ({kind!r})")


def row_values(table: Table, parents: dict[str, Any]) -> dict[str, Any]:
    values = {
        column.key: sample(table, column, parents)
        for column in table.columns
        if column.name not in ("id",)
    }
    values["id"] = new_id()
    values.update(OVERRIDES.get(table.name, {}))
    return values


async def test_every_table_round_trips(db: Database) -> None:
    parents: dict[str, Any] = {}
    written: dict[str, dict[str, Any]] = {}
    models = {m.local_table.name: m.class_ for m in Base.registry.mappers}
    for table in Base.metadata.sorted_tables:
        values = row_values(table, parents)
        parents[table.name] = await crud.insert(db, models[table.name](**values))
        written[table.name] = values

    # The use_alter reference back from executions to assets is set once both exist.
    asset_id = parents["user_generated_assets"].id
    await crud.update(
        db,
        UserPromptExecution,
        parents["user_prompt_executions"].id,
        refined_output_asset_id=asset_id,
    )
    written["user_prompt_executions"]["refined_output_asset_id"] = asset_id

    assert set(written) == set(Base.metadata.tables)
    fresh = Database(db.url)
    try:
        for name, values in written.items():
            stored = (await crud.get(fresh, models[name], values["id"])).to_dict()
            if name == "memories":  # the embedding is deferred: read on its own
                async with fresh.read() as session:
                    stored["embedding"] = await session.scalar(
                        select(Memory.embedding).where(Memory.id == values["id"])
                    )
            assert stored == values, name
            for key, value in stored.items():
                if isinstance(value, datetime):
                    assert value.tzinfo == UTC, f"{name}.{key} is not UTC"
    finally:
        await fresh.close()


@pytest.mark.parametrize("table_model", [GroupMember, ConversationParticipant])
@pytest.mark.parametrize("which", ["both", "neither", "wrong_kind"])
async def test_user_or_agent_check_holds_in_the_database(
    db: Database, table_model: Any, which: str
) -> None:
    owner = await factories.user(db)
    agent = await factories.agent(db)
    parent: dict[str, Any]
    if table_model is GroupMember:
        group = await factories.group(db, owner)
        parent = {"group_id": group.id, "added_by": owner.id, "added_at": WHEN}
    else:
        conversation = await crud.insert(db, Conversation(title="t", created_by=owner.id))
        parent = {"conversation_id": conversation.id, "status": "active", "is_removed": False}
        parent["added_at"] = WHEN
    ids = {
        "both": {"kind": "user", "user_id": owner.id, "agent_id": agent.id},
        "neither": {"kind": "agent", "user_id": None, "agent_id": None},
        "wrong_kind": {"kind": "agent", "user_id": owner.id, "agent_id": None},
    }[which]
    row = {"id": new_id(), "created_at": WHEN, "role": "member", **parent, **ids}
    table = table_model.__table__

    # A Core insert bypasses every Python-side check: only the CHECK constraint stands.
    with pytest.raises(IntegrityError) as caught:
        async with db.session() as session:
            await session.execute(insert(table).values(**row))
    error = integrity_conflict(table.name, caught.value)
    assert isinstance(error, InvalidValue)
    assert error.table == table.name
    assert error.field == f"ck_{table.name}_exactly_one_member"


@pytest.mark.parametrize(
    ("model", "field", "extra"),
    [
        (ConversationMessage, "status", {}),
        (UserPromptExecution, "elevate_step", {}),
        (UserGeneratedAsset, "status", {}),
        (UserModuleProgress, "status", {}),
        (GroupMember, "role", {}),
        (ConversationParticipant, "role", {}),
        (ConversationParticipant, "kind", {}),
    ],
)
def test_invalid_literal_is_refused_in_python(
    model: Any, field: str, extra: dict[str, Any]
) -> None:
    with pytest.raises(InvalidValue) as caught:
        model(**{field: "Bogus"}, **extra)
    table = model.__table__.name
    assert caught.value.table == table
    assert caught.value.field == field
    assert caught.value.value == "Bogus"
    message = str(caught.value)
    assert table in message and field in message and "'Bogus'" in message


async def test_invalid_literal_is_refused_by_the_database(db: Database) -> None:
    owner = await factories.user(db)
    module = await factories.module(db)
    team = await factories.group(db, owner)
    room = await crud.insert(db, Conversation(title="t", created_by=owner.id))
    statements = {
        "conversation_messages": (
            "INSERT INTO conversation_messages (id, created_at, conversation_id, seq, kind, "
            "content, status) VALUES (:id, :at, :room, 1, 'system', 'x', 'shouting')"
        ),
        "group_members": (
            "INSERT INTO group_members (id, created_at, group_id, kind, user_id, role, added_by, "
            "added_at) VALUES (:id, :at, :team, 'user', :user, 'boss', :user, :at)"
        ),
        "user_module_progress": (
            "INSERT INTO user_module_progress (id, created_at, user_id, module_id, status) "
            "VALUES (:id, :at, :user, :module, 'Bogus')"
        ),
        "user_generated_assets": (
            "INSERT INTO user_generated_assets (id, created_at, user_id, elevate_step, asset_type,"
            " content, status, last_updated_at) "
            "VALUES (:id, :at, :user, 'Hook', 'ad', 'x', 'Bogus', :at)"
        ),
        "user_prompt_executions": (
            "INSERT INTO user_prompt_executions (id, created_at, user_id, prompt_code, "
            "elevate_step, ai_request_timestamp, status) "
            "VALUES (:id, :at, :user, 'H1', 'Bogus', :at, 'Pending')"
        ),
    }
    for table, sql in statements.items():
        params = {
            "id": new_id(),
            "at": WHEN,
            "user": owner.id,
            "module": module.id,
            "team": team.id,
            "room": room.id,
        }
        with pytest.raises(IntegrityError) as caught:
            async with db.session() as session:
                await session.execute(text(sql), params)
        error = integrity_conflict(table, caught.value)
        assert isinstance(error, InvalidValue), table
        assert error.field.startswith(f"ck_{table}_"), error.field


async def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        await factories.user(db, last_active_at=datetime(2024, 1, 1))
