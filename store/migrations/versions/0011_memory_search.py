"""memory search on the database's own index, and memory embeddings

SQLite: an FTS5 table over `memories.content` and `memories.tags`, kept in step by triggers,
filled from the existing rows. PostgreSQL: a generated `tsvector` column with a GIN index,
computed for the existing rows by the ALTER TABLE itself. Both: an `embedding` column (empty
until an embeddings endpoint is configured), the model that made it, and an index on
(agent_id, created_at) for an agent's newest memories.

Revision ID: 0011_memory_search
Revises: 0010_usage_cost
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.vector_type import Vector

revision: str = "0011_memory_search"
down_revision: str | None = "0010_usage_cost"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UP = [
    "CREATE VIRTUAL TABLE memories_fts USING fts5(content, tags, content='memories',"
    " content_rowid='rowid', tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN"
    " INSERT INTO memories_fts(rowid, content, tags) VALUES (new.rowid, new.content, new.tags);"
    " END",
    "CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN"
    " INSERT INTO memories_fts(memories_fts, rowid, content, tags)"
    " VALUES ('delete', old.rowid, old.content, old.tags); END",
    "CREATE TRIGGER memories_fts_update AFTER UPDATE OF content, tags ON memories BEGIN"
    " INSERT INTO memories_fts(memories_fts, rowid, content, tags)"
    " VALUES ('delete', old.rowid, old.content, old.tags);"
    " INSERT INTO memories_fts(rowid, content, tags) VALUES (new.rowid, new.content, new.tags);"
    " END",
    "INSERT INTO memories_fts(memories_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS memories_fts_update",
    "DROP TRIGGER IF EXISTS memories_fts_delete",
    "DROP TRIGGER IF EXISTS memories_fts_insert",
    "DROP TABLE IF EXISTS memories_fts",
]
POSTGRES_UP = [
    "ALTER TABLE memories ADD COLUMN search_vector tsvector GENERATED ALWAYS AS"
    " (to_tsvector('english'::regconfig, content || ' ' || coalesce(tags::text, ''))) STORED",
    "CREATE INDEX ix_memories_search ON memories USING gin (search_vector)",
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS ix_memories_search",
    "ALTER TABLE memories DROP COLUMN IF EXISTS search_vector",
]


def upgrade() -> None:
    with op.batch_alter_table("memories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("embedding", Vector(), nullable=True))
        batch_op.add_column(sa.Column("embedding_model", sa.String(length=200), nullable=True))
    op.create_index("ix_memories_by_agent_time", "memories", ["agent_id", "created_at"])
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRES_UP if postgres else SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRES_DOWN if postgres else SQLITE_DOWN:
        op.execute(statement)
    op.drop_index("ix_memories_by_agent_time", table_name="memories")
    with op.batch_alter_table("memories", schema=None) as batch_op:
        batch_op.drop_column("embedding_model")
        batch_op.drop_column("embedding")
