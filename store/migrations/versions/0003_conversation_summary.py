"""conversation summary: a running summary of messages older than the history window

`summary` covers every message up to `summary_seq`; the runtime extends it with only the
messages that have left the window since, so a long conversation's prompt stays bounded.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 12:00:01.882702
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('summary', sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column('summary_seq', sa.Integer(), server_default='0', nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('summary_seq')
        batch_op.drop_column('summary')
