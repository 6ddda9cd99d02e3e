"""mcp servers: streamable-HTTP MCP servers that staff declare through the API

Servers that run a command (stdio) are declared only in the operator's file, so this table has
no column for one. Header values are `${ELEVATE_MCP_SECRET_*}` references, never secrets.

Revision ID: 0009_mcp_servers
Revises: 0008_durable_triggers
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.base import UTCDateTime

revision: str = "0009_mcp_servers"
down_revision: str | None = "0008_durable_triggers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mcp_servers",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=True),
        sa.Column("tool_prefix", sa.String(length=64), nullable=True),
        sa.Column("timeout_seconds", sa.Float(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=26), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=True),
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_mcp_servers_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mcp_servers")),
        sa.UniqueConstraint("name", name="uq_mcp_servers_name"),
    )


def downgrade() -> None:
    op.drop_table("mcp_servers")
