"""agent soft delete: a deleted agent keeps its row (`deleted_at`) so its messages keep an author

Deleting the row cascaded to its conversation participants, whose messages then lost their
author, which the `author_required` check refuses: deleting an agent that had spoken failed.

Revision ID: 0005_agent_soft_delete
Revises: 0004_group_agents
Create Date: 2026-12-04 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.base

revision: str = "0005_agent_soft_delete"
down_revision: str | None = "0004_group_agents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deleted_at", store.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("deleted_at")
