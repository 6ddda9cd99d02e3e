"""rooms: read positions, muting, notifications, archived conversations

`conversation_reads` keeps each person's last read seq and mute flag per conversation (shared by
their devices); `notifications` the mentions and replies that asked for them; `archived_at`
takes a conversation out of the main list without deleting it.

Revision ID: 0015_rooms_unread
Revises: 0014_uploads_profile
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.base import UTCDateTime

revision: str = "0015_rooms_unread"
down_revision: str | None = "0014_uploads_profile"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("archived_at", UTCDateTime(), nullable=True))
    op.create_table(
        "conversation_reads",
        sa.Column("conversation_id", sa.String(length=26), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("last_read_seq", sa.Integer(), server_default="0", nullable=False),
        sa.Column("muted", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_reads_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_conversation_reads_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_reads")),
        sa.UniqueConstraint("conversation_id", "user_id", name="uq_conversation_reads_conv_user"),
    )
    op.create_index("ix_conversation_reads_by_user", "conversation_reads", ["user_id"])
    op.create_table(
        "notifications",
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("conversation_id", sa.String(length=26), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("actor_name", sa.String(length=200), nullable=True),
        sa.Column("preview", sa.Text(), nullable=False),
        sa.Column("read_at", UTCDateTime(), nullable=True),
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_notifications_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notifications_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index("ix_notifications_by_user_and_read", "notifications", ["user_id", "read_at"])


def downgrade() -> None:
    op.drop_index("ix_notifications_by_user_and_read", table_name="notifications")
    op.drop_table("notifications")
    op.drop_index("ix_conversation_reads_by_user", table_name="conversation_reads")
    op.drop_table("conversation_reads")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("archived_at")
