"""Migrations build exactly the schema the models describe, on SQLite and on PostgreSQL.

Each test starts from a truly empty database: a new SQLite file, or a fresh PostgreSQL schema
(put first on the connection's search_path) so the shared test database is left alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import CheckConstraint, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

import store.models  # noqa: F401  (every table on the metadata)
from store.base import Base
from store.db import Database, async_url
from store.ids import new_id
from store.memory_index import is_index_object
from store.migrate import alembic_config, head_revision
from store.search import SEARCH_COLUMN, SEARCH_INDEX, SEARCH_TABLE_PREFIX
from tests.conftest import DATABASE_URL, is_postgres

# Every index the seed declares (`.index(...)`), plus the runtime's own, with its columns.
# Listed by hand so that an index dropped from a model or a migration fails here.
EXPECTED_INDEXES: dict[str, tuple[str, tuple[str, ...]]] = {
    "ix_playbook_prompts_by_step": ("playbook_prompts", ("step",)),
    "ix_course_modules_by_module_number": ("course_modules", ("module_number",)),
    "ix_users_by_email": ("users", ("email",)),
    "ix_uploads_by_user": ("uploads", ("user_id", "created_at")),
    "ix_uploads_by_conversation": ("uploads", ("conversation_id",)),
    "ix_conversation_reads_by_user": ("conversation_reads", ("user_id",)),
    "ix_notifications_by_user_and_read": ("notifications", ("user_id", "read_at")),
    "ix_user_foundations_by_user_id": ("user_foundations", ("user_id",)),
    "ix_user_foundation_versions_by_user_version": (
        "user_foundation_versions",
        ("user_id", "version"),
    ),
    "ix_user_prompt_executions_by_user_step": (
        "user_prompt_executions",
        ("user_id", "elevate_step"),
    ),
    "ix_user_generated_assets_by_user_step": ("user_generated_assets", ("user_id", "elevate_step")),
    "ix_user_module_progress_by_user_module": ("user_module_progress", ("user_id", "module_id")),
    "ix_user_funnel_snapshots_by_user_date": (
        "user_funnel_snapshots",
        ("user_id", "snapshot_date"),
    ),
    "ix_user_activity_log_by_user": ("user_activity_log", ("user_id",)),
    "ix_agents_by_creator": ("agents", ("created_by",)),
    "ix_agents_by_handle": ("agents", ("handle",)),
    "ix_tools_by_creator": ("tools", ("created_by",)),
    "ix_groups_by_owner": ("groups", ("owner_id",)),
    "ix_group_members_by_group": ("group_members", ("group_id",)),
    "ix_group_members_by_user": ("group_members", ("user_id",)),
    "ix_group_members_by_agent": ("group_members", ("agent_id",)),
    "ix_prompts_by_creator": ("prompts", ("created_by",)),
    "ix_conversations_by_user_and_time": ("conversations", ("created_by", "last_message_time")),
    "ix_conversations_by_group": ("conversations", ("group_id",)),
    "ix_conversation_participants_by_conversation_id": (
        "conversation_participants",
        ("conversation_id",),
    ),
    "ix_conversation_participants_by_user_id": ("conversation_participants", ("user_id",)),
    "ix_conversation_participants_by_agent_id": ("conversation_participants", ("agent_id",)),
    "ix_conversation_messages_by_conversation_id": (
        "conversation_messages",
        ("conversation_id",),
    ),
    "ix_agent_tools_by_agent": ("agent_tools", ("agent_id",)),
    "ix_agent_tools_by_tool": ("agent_tools", ("tool_id",)),
    "ix_attachments_by_owner": ("attachments", ("owner_type", "owner_id")),
    "ix_attachments_by_prompt": ("attachments", ("prompt_id",)),
    "ix_support_tickets_by_user": ("support_tickets", ("user_id",)),
    "ix_support_tickets_by_module": ("support_tickets", ("module_id",)),
    "ix_user_feedback_by_user": ("user_feedback", ("user_id",)),
    "ix_user_feedback_by_module": ("user_feedback", ("module_id",)),
    "ix_ab_tests_by_user": ("ab_tests", ("user_id",)),
    "ix_customers_by_user": ("customers", ("user_id",)),
    "ix_customer_journey_events_by_customer": ("customer_journey_events", ("customer_id",)),
    "ix_customer_journey_events_by_user": ("customer_journey_events", ("user_id",)),
    "ix_auth_sessions_by_token_hash": ("auth_sessions", ("token_hash",)),
    "ix_auth_sessions_by_user": ("auth_sessions", ("user_id",)),
    "ix_agent_turns_by_conversation": ("agent_turns", ("conversation_id", "created_at")),
    "ix_agent_turns_by_status": ("agent_turns", ("status",)),
    "ix_tool_calls_by_turn": ("tool_calls", ("turn_id",)),
    "ix_tool_calls_by_conversation": ("tool_calls", ("conversation_id",)),
    "ix_memories_by_agent_scope": ("memories", ("agent_id", "scope")),
    "ix_message_edits_by_message": ("message_edits", ("message_id", "edit_seq")),
    "ix_memories_by_user": ("memories", ("user_id",)),
    "ix_memories_by_group": ("memories", ("group_id",)),
    "ix_memories_by_agent_time": ("memories", ("agent_id", "created_at")),
    "ix_usage_records_by_user_day": ("usage_records", ("user_id", "day")),
    "ix_usage_records_by_agent_day": ("usage_records", ("agent_id", "day")),
    "ix_usage_records_by_day": ("usage_records", ("day",)),
    "ix_usage_records_by_conversation": ("usage_records", ("conversation_id",)),
    "ix_usage_records_by_turn": ("usage_records", ("turn_id",)),
    "ix_usage_budgets_by_user": ("usage_budgets", ("user_id",)),
    "ix_usage_budgets_by_agent": ("usage_budgets", ("agent_id",)),
    "ix_ab_tests_by_user_test_variant": ("ab_tests", ("user_id", "test_name", "variant")),
    "ix_customers_by_user_segment": ("customers", ("user_id", "segment")),
    "ix_customers_by_user_email": ("customers", ("user_id", "email")),
    "ix_customer_journey_events_funnel": (
        "customer_journey_events",
        ("user_id", "customer_id", "step", "timestamp", "channel"),
    ),
    "ix_support_tickets_by_module_status": ("support_tickets", ("module_id", "status")),
    "ix_user_generated_assets_by_step": ("user_generated_assets", ("elevate_step",)),
    "ix_user_module_progress_by_module_status": (
        "user_module_progress",
        ("module_id", "status"),
    ),
    "ix_user_funnel_snapshots_by_user_channel_date": (
        "user_funnel_snapshots",
        ("user_id", "channel", "snapshot_date"),
    ),
    "ix_user_funnel_snapshots_by_user_campaign_date": (
        "user_funnel_snapshots",
        ("user_id", "campaign_id", "snapshot_date"),
    ),
    "ix_kpi_targets_by_user_metric": ("kpi_targets", ("user_id", "metric")),
    "ix_csv_mappings_by_user_kind": ("csv_mappings", ("user_id", "kind")),
    "ix_customer_funnels_by_user": ("customer_funnels", ("user_id",)),
    "ix_customer_funnels_by_customer": ("customer_funnels", ("customer_id",)),
    "ix_customer_funnels_depth": ("customer_funnels", ("user_id", "depth")),
    **{
        f"ix_customer_funnels_{step}_gap": ("customer_funnels", ("user_id", f"{step}_gap"))
        for step in ("gift", "identify", "engage", "sell", "nurture", "upsell", "educate", "share")
    },
}

SEED_TABLES = {
    "users",
    "playbook_prompts",
    "course_modules",
    "user_foundations",
    "user_prompt_executions",
    "user_generated_assets",
    "user_module_progress",
    "user_funnel_snapshots",
    "user_activity_log",
    "agents",
    "tools",
    "groups",
    "group_members",
    "prompts",
    "conversations",
    "conversation_participants",
    "conversation_messages",
    "agent_tools",
    "attachments",
    "support_tickets",
    "user_feedback",
    "ab_tests",
    "customers",
    "customer_journey_events",
}

USER_OR_AGENT_CHECKS = {
    "group_members": "ck_group_members_exactly_one_member",
    "conversation_participants": "ck_conversation_participants_exactly_one_member",
    "usage_budgets": "ck_usage_budgets_exactly_one_member",
}


@pytest.fixture
async def empty(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An engine on an empty database of the backend under test."""
    if not is_postgres():
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite'}")
        yield database.engine
        await database.close()
        return

    schema = f"migrations_{new_id().lower()}"
    admin = Database(DATABASE_URL)
    async with admin.engine.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_async_engine(
        async_url(DATABASE_URL),
        poolclass=NullPool,
        connect_args={"server_settings": {"search_path": schema}},
    )
    try:
        yield engine
    finally:
        await engine.dispose()
        async with admin.engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.close()


async def migrate(engine: AsyncEngine, revision: str = "head", *, down: bool = False) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


def snapshot(connection: Connection) -> dict[str, Any]:
    """Tables, columns, indexes, constraints and the revision, as comparable plain data."""
    inspector = inspect(connection)
    tables: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        if is_search_object(table):
            continue
        tables[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"])
                for c in inspector.get_columns(table)
                if not is_search_object(c["name"])
            ],
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in inspector.get_indexes(table)
                if not i.get("duplicates_constraint") and not is_search_object(i["name"])
            ),
            "unique": sorted(u["name"] for u in inspector.get_unique_constraints(table)),
            "checks": sorted(c["name"] for c in inspector.get_check_constraints(table)),
            # By shape, not name: PostgreSQL shortens names longer than 63 characters.
            "foreign_keys": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"], f["options"].get("ondelete"))
                for f in inspector.get_foreign_keys(table)
            ),
        }
    revision = MigrationContext.configure(connection).get_current_revision()
    return {"tables": tables, "revision": revision}


async def test_upgrade_creates_every_table_with_its_indexes(empty: AsyncEngine) -> None:
    await migrate(empty)
    async with empty.connect() as connection:
        schema = await connection.run_sync(snapshot)

    # The memory search index (FTS5 tables, a tsvector column and its index) has no model.
    tables = {name: t for name, t in schema["tables"].items() if not is_index_object(name)}
    for table in tables.values():
        table["indexes"] = [i for i in table["indexes"] if not is_index_object(i[0])]
    assert schema["revision"] == head_revision()
    assert set(tables) == set(Base.metadata.tables) | {"alembic_version"}
    assert set(tables) >= SEED_TABLES
    for name, (table, columns) in EXPECTED_INDEXES.items():
        found = {index[0]: index[1] for index in tables[table]["indexes"]}
        assert found.get(name) == columns, f"{table}: index {name} on {columns} missing"
    for table in Base.metadata.sorted_tables:
        declared = {i.name for i in table.indexes}
        assert {i[0] for i in tables[table.name]["indexes"]} == declared, table.name
        declared_checks = {c.name for c in table.constraints if isinstance(c, CheckConstraint)}
        assert set(tables[table.name]["checks"]) == declared_checks, table.name
        declared_fks = {
            (tuple(fk.column_keys), fk.referred_table.name, fk.ondelete)
            for fk in table.foreign_key_constraints
        }
        assert set(tables[table.name]["foreign_keys"]) == declared_fks, table.name
    for table, check in USER_OR_AGENT_CHECKS.items():
        assert check in tables[table]["checks"]


async def test_every_declared_index_is_listed_here() -> None:
    declared = {i.name for t in Base.metadata.sorted_tables for i in t.indexes}
    assert declared == set(EXPECTED_INDEXES)


async def test_upgrading_twice_changes_nothing(empty: AsyncEngine) -> None:
    await migrate(empty)
    async with empty.connect() as connection:
        first = await connection.run_sync(snapshot)
    await migrate(empty)
    async with empty.connect() as connection:
        assert await connection.run_sync(snapshot) == first


async def test_models_and_migrations_do_not_drift(empty: AsyncEngine) -> None:
    await migrate(empty)

    def drift(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "include_name": lambda name, *_: not is_index_object(name),
            },
        )
        return compare_metadata(context, Base.metadata)

    async with empty.connect() as connection:
        assert [d for d in await connection.run_sync(drift) if not _search_drift(d)] == []


def is_search_object(name: str | None) -> bool:
    """The full-text index's tables, column and index (store/search.py), which no model
    declares: the database maintains them, and `test_search_index_*` check them."""
    return bool(name) and (
        name.startswith(SEARCH_TABLE_PREFIX) or name in (SEARCH_COLUMN, SEARCH_INDEX)
    )


def _search_drift(diff: Any) -> bool:
    names = {getattr(part, "name", None) for part in (diff if isinstance(diff, tuple) else ())}
    names |= {part for part in (diff if isinstance(diff, tuple) else ()) if isinstance(part, str)}
    return any(is_search_object(name) for name in names if isinstance(name, str))


async def test_search_index_is_created_and_dropped_with_the_migration(empty: AsyncEngine) -> None:
    await migrate(empty)

    def names(connection: Connection) -> set[str]:
        inspector = inspect(connection)
        found = set(inspector.get_table_names())
        found |= {c["name"] for c in inspector.get_columns("conversation_messages")}
        found |= {i["name"] for i in inspector.get_indexes("conversation_messages")}
        return {name for name in found if is_search_object(name)}

    async with empty.connect() as connection:
        created = await connection.run_sync(names)
    if empty.dialect.name == "postgresql":
        assert created == {SEARCH_COLUMN, SEARCH_INDEX}
    else:
        assert {SEARCH_TABLE_PREFIX, f"{SEARCH_TABLE_PREFIX}_keys"} <= created
    await migrate(empty, "0008_durable_triggers", down=True)
    async with empty.connect() as connection:
        assert await connection.run_sync(names) == set()


async def test_downgrade_to_base_and_up_again(empty: AsyncEngine) -> None:
    await migrate(empty)
    async with empty.connect() as connection:
        migrated = await connection.run_sync(snapshot)
    await migrate(empty, "base", down=True)
    async with empty.connect() as connection:
        bare = await connection.run_sync(snapshot)
    assert set(bare["tables"]) == {"alembic_version"}
    assert bare["revision"] is None
    await migrate(empty)
    async with empty.connect() as connection:
        assert await connection.run_sync(snapshot) == migrated


async def test_agents_already_in_a_group_join_its_conversations(empty: AsyncEngine) -> None:
    """0004 gives an agent of a group a participant row in the group's conversations that
    existed before agents joined them on their own; rows already there are left alone."""
    await migrate(empty, "0003")
    ids = {name: new_id() for name in ("user", "group", "agent", "other", "room", "row", "gm")}
    ids["gm2"] = new_id()
    statements = [
        "INSERT INTO users (id, name, email, is_anonymous, is_staff, created_at)"
        " VALUES (:user, 'Ann', 'ann@example.com', false, false, CURRENT_TIMESTAMP)",
        "INSERT INTO groups (id, name, owner_id, created_at)"
        " VALUES (:group, 'Team', :user, CURRENT_TIMESTAMP)",
        "INSERT INTO agents (id, name, handle, description, avatar_url, kind, version, created_at)"
        " VALUES (:agent, 'Coach', 'coach', '', '', 'user_agent', 1, CURRENT_TIMESTAMP),"
        " (:other, 'Aide', 'aide', '', '', 'user_agent', 1, CURRENT_TIMESTAMP)",
        "INSERT INTO group_members (id, group_id, kind, agent_id, role, added_by, added_at,"
        " created_at) VALUES (:gm, :group, 'agent', :agent, 'member', :user,"
        " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP), (:gm2, :group, 'agent', :other, 'member',"
        " :user, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        "INSERT INTO conversations (id, title, created_by, group_id, last_message_time,"
        " last_seq, created_at) VALUES (:room, 'Room', :user, :group, CURRENT_TIMESTAMP, 0,"
        " CURRENT_TIMESTAMP)",
        "INSERT INTO conversation_participants (id, kind, conversation_id, agent_id, status,"
        " role, is_removed, added_at, created_at) VALUES (:row, 'agent', :room, :other,"
        " 'removed', 'member', true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    ]
    async with empty.begin() as connection:
        for statement in statements:
            await connection.execute(text(statement), ids)
    await migrate(empty)
    async with empty.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT agent_id, role, is_removed, status FROM conversation_participants"
                " WHERE conversation_id = :room ORDER BY agent_id"
            ),
            ids,
        )
        found = {row.agent_id: (row.role, bool(row.is_removed), row.status) for row in rows}
    assert found == {
        ids["agent"]: ("member", False, "active"),
        ids["other"]: ("member", True, "removed"),
    }


async def test_funnel_rollup_rows_get_their_depth_and_gaps(empty: AsyncEngine) -> None:
    """0016 fills the new columns of rollup rows that were already there."""
    await migrate(empty, "0008_durable_triggers")
    ids = {"user": new_id(), "customer": new_id()}
    statements = [
        "INSERT INTO users (id, name, email, is_anonymous, is_staff, created_at)"
        " VALUES (:user, 'Ann', 'ann@example.com', false, false, CURRENT_TIMESTAMP)",
        "INSERT INTO customers (id, user_id, name, created_at)"
        " VALUES (:customer, :user, 'c', CURRENT_TIMESTAMP)",
        # Hook at 0, Gift at 60, Identify before Gift (reached, not in order), no Engage.
        "INSERT INTO customer_funnels (id, customer_id, user_id, created_at, hook_first,"
        " gift_first, identify_first, sell_first) VALUES (:customer, :customer, :user,"
        " CURRENT_TIMESTAMP, 0, 60, 30, 500)",
    ]
    async with empty.begin() as connection:
        for statement in statements:
            await connection.execute(text(statement), ids)
    await migrate(empty)
    async with empty.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT depth, gift_gap, identify_gap, engage_gap, sell_gap FROM"
                    " customer_funnels WHERE customer_id = :customer"
                ),
                ids,
            )
        ).one()
    assert tuple(row) == (3, 60.0, None, None, None)
