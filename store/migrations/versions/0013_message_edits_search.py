"""message edits, deletes and full-text search

Messages get `edited_at`, `deleted_at` and `edit_seq` (conversations the `edit_seq` counter),
and `message_edits` keeps the content each edit replaced. Search uses the database's own
full-text index, kept in step by the database itself (every writer is covered, the asyncpg
fast path of appends too): on PostgreSQL a generated `tsvector` column with a GIN index, on
SQLite an FTS5 table filled by triggers, keyed through `message_search_keys` (message ids are
strings; the FTS rowid must be an integer that VACUUM does not renumber).

Revision ID: 0013_message_edits_search
Revises: 0012_message_tabs
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.base import UTCDateTime

revision: str = "0013_message_edits_search"
down_revision: str | None = "0012_message_tabs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE_COLUMNS = ("edited_at", "deleted_at", "edit_seq")

POSTGRES_UP = (
    "ALTER TABLE conversation_messages ADD COLUMN search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple', coalesce(content, ''))) STORED",
    "CREATE INDEX ix_conversation_messages_search ON conversation_messages "
    "USING gin (search_vector)",
)
POSTGRES_DOWN = (
    "DROP INDEX IF EXISTS ix_conversation_messages_search",
    "ALTER TABLE conversation_messages DROP COLUMN IF EXISTS search_vector",
)

# A message is indexed while it has text and is not deleted.
_INDEX_NEW = """
    INSERT INTO message_search_keys (message_id)
        SELECT new.id WHERE new.deleted_at IS NULL AND trim(new.content) != '';
    INSERT INTO message_search (rowid, content)
        SELECT key, new.content FROM message_search_keys WHERE message_id = new.id;
"""
_UNINDEX_OLD = """
    DELETE FROM message_search
        WHERE rowid = (SELECT key FROM message_search_keys WHERE message_id = old.id);
    DELETE FROM message_search_keys WHERE message_id = old.id;
"""
SQLITE_UP = (
    "CREATE TABLE message_search_keys (key INTEGER PRIMARY KEY, "
    "message_id VARCHAR(26) NOT NULL UNIQUE)",
    "CREATE VIRTUAL TABLE message_search USING fts5("
    "content, tokenize = 'unicode61 remove_diacritics 2')",
    f"CREATE TRIGGER message_search_insert AFTER INSERT ON conversation_messages "
    f"BEGIN {_INDEX_NEW} END",
    f"CREATE TRIGGER message_search_update AFTER UPDATE OF content, deleted_at "
    f"ON conversation_messages BEGIN {_UNINDEX_OLD} {_INDEX_NEW} END",
    f"CREATE TRIGGER message_search_delete AFTER DELETE ON conversation_messages "
    f"BEGIN {_UNINDEX_OLD} END",
    "INSERT INTO message_search_keys (message_id) SELECT id FROM conversation_messages "
    "WHERE deleted_at IS NULL AND trim(content) != '' ORDER BY conversation_id, seq",
    "INSERT INTO message_search (rowid, content) SELECT k.key, m.content "
    "FROM message_search_keys k JOIN conversation_messages m ON m.id = k.message_id",
)
SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS message_search_delete",
    "DROP TRIGGER IF EXISTS message_search_update",
    "DROP TRIGGER IF EXISTS message_search_insert",
    "DROP TABLE IF EXISTS message_search",
    "DROP TABLE IF EXISTS message_search_keys",
)


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("edit_seq", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("conversation_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("edited_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("deleted_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("edit_seq", sa.Integer(), nullable=True))
    op.create_table(
        "message_edits",
        sa.Column("message_id", sa.String(length=26), nullable=False),
        sa.Column("conversation_id", sa.String(length=26), nullable=False),
        sa.Column("edit_seq", sa.Integer(), nullable=False),
        sa.Column("previous_content", sa.Text(), nullable=False),
        sa.Column("edited_by", sa.String(length=26), nullable=True),
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_message_edits_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["edited_by"],
            ["users.id"],
            name=op.f("fk_message_edits_edited_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["conversation_messages.id"],
            name=op.f("fk_message_edits_message_id_conversation_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_edits")),
    )
    op.create_index(
        "ix_message_edits_by_message", "message_edits", ["message_id", "edit_seq"], unique=False
    )
    for statement in POSTGRES_UP if op.get_bind().dialect.name == "postgresql" else SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in POSTGRES_DOWN if op.get_bind().dialect.name == "postgresql" else SQLITE_DOWN:
        op.execute(statement)
    op.drop_index("ix_message_edits_by_message", table_name="message_edits")
    op.drop_table("message_edits")
    with op.batch_alter_table("conversation_messages", schema=None) as batch_op:
        for name in reversed(MESSAGE_COLUMNS):
            batch_op.drop_column(name)
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("edit_seq")
