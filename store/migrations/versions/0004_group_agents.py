"""group agents: an agent in a group takes part in the group's conversations

Agents added to a group now join its conversations (so they answer there); this gives the
agents already in a group a participant row in the group's existing conversations. Data only.

Revision ID: 0004_group_agents
Revises: 0003
Create Date: 2026-12-04 19:00:00.000000
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from store.ids import new_id

revision: str = '0004_group_agents'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MISSING = sa.text(
    "SELECT c.id AS conversation_id, gm.agent_id AS agent_id"
    " FROM group_members gm JOIN conversations c ON c.group_id = gm.group_id"
    " WHERE gm.agent_id IS NOT NULL AND NOT EXISTS ("
    "  SELECT 1 FROM conversation_participants p"
    "  WHERE p.conversation_id = c.id AND p.agent_id = gm.agent_id)"
    " ORDER BY c.id, gm.agent_id"
)


def upgrade() -> None:
    participants = sa.table(
        'conversation_participants',
        sa.column('id', sa.String),
        sa.column('kind', sa.String),
        sa.column('conversation_id', sa.String),
        sa.column('agent_id', sa.String),
        sa.column('status', sa.String),
        sa.column('role', sa.String),
        sa.column('is_removed', sa.Boolean),
        sa.column('added_at', sa.DateTime(timezone=True)),
        sa.column('created_at', sa.DateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    rows = [
        {
            'id': new_id(),
            'kind': 'agent',
            'conversation_id': row.conversation_id,
            'agent_id': row.agent_id,
            'status': 'active',
            'role': 'member',
            'is_removed': False,
            'added_at': now,
            'created_at': now,
        }
        for row in op.get_bind().execute(MISSING)
    ]
    if rows:
        op.bulk_insert(participants, rows)


def downgrade() -> None:
    # The rows it added are ordinary participants by now (they may have spoken): kept.
    pass
