"""durable triggers and fencing: which messages are still owed an answer, and who may write

`trigger_seq` is the latest message that asks agents to answer, `handled_seq` the latest one
whose answer has started, `fence` the fencing token of the conversation's current lease holder.
Existing conversations start with nothing owed (both 0), so an upgrade answers nothing twice.

Revision ID: 0008_durable_triggers
Revises: 0007_kpis
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_durable_triggers"
down_revision: str | None = "0007_kpis"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("trigger_seq", "handled_seq", "fence")


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
