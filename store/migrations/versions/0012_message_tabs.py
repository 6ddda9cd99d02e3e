"""message tabs: a message's seed tab (now/top/todo/done) beside its delivery status

`status` already holds whether a reply completed, was cancelled or failed; the tab a person
puts a message under is a separate column, so setting one never hides the other.
`tagged_at` says when the tab or the tags last changed, so a resuming client can catch up.

Revision ID: 0012_message_tabs
Revises: 0011_memory_search
Create Date: 2026-12-04 23:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.base

revision: str = "0012_message_tabs"
down_revision: str | None = "0011_memory_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversation_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tab", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("tagged_at", store.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_check_constraint(
            op.f("ck_conversation_messages_tab_allowed"),
            "tab IN ('now', 'top', 'todo', 'done')",
        )


def downgrade() -> None:
    with op.batch_alter_table("conversation_messages", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_conversation_messages_tab_allowed"), type_="check")
        batch_op.drop_column("tagged_at")
        batch_op.drop_column("tab")
