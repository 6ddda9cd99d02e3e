"""usage and cost: a ledger of every model-using run, and daily token budget overrides

`usage_records` holds one row per agent turn or playbook run: the UTC day, who it ran for,
the agent, the model, input, output and cached tokens, and its cost from the price table.
`usage_budgets` holds a person's or an agent's daily token budget where it differs from the
settings' default.

Revision ID: 0010_usage_cost
Revises: 0009_mcp_servers
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.base import UTCDateTime

revision: str = "0010_usage_cost"
down_revision: str | None = "0009_mcp_servers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "usage_records",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("turn_id", sa.String(length=26), nullable=True),
        sa.Column("parent_turn_id", sa.String(length=26), nullable=True),
        sa.Column("execution_id", sa.String(length=26), nullable=True),
        sa.Column("conversation_id", sa.String(length=26), nullable=True),
        sa.Column("agent_id", sa.String(length=26), nullable=True),
        sa.Column("user_id", sa.String(length=26), nullable=True),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cached_tokens", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("priced", sa.Boolean(), nullable=False),
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "source IN ('turn', 'playbook')", name=op.f("ck_usage_records_source_allowed")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_usage_records_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_usage_records_conversation_id_conversations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["user_prompt_executions.id"],
            name=op.f("fk_usage_records_execution_id_user_prompt_executions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["turn_id"],
            ["agent_turns.id"],
            name=op.f("fk_usage_records_turn_id_agent_turns"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_usage_records_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_records")),
    )
    with op.batch_alter_table("usage_records", schema=None) as batch_op:
        batch_op.create_index("ix_usage_records_by_user_day", ["user_id", "day"], unique=False)
        batch_op.create_index("ix_usage_records_by_agent_day", ["agent_id", "day"], unique=False)
        batch_op.create_index("ix_usage_records_by_day", ["day"], unique=False)
        batch_op.create_index("ix_usage_records_by_conversation", ["conversation_id"], unique=False)
        batch_op.create_index("ix_usage_records_by_turn", ["turn_id"], unique=False)

    op.create_table(
        "usage_budgets",
        sa.Column("subject", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=True),
        sa.Column("agent_id", sa.String(length=26), nullable=True),
        sa.Column("daily_tokens", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=26), nullable=True),
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "(subject = 'user' AND user_id IS NOT NULL AND agent_id IS NULL) OR "
            "(subject = 'agent' AND agent_id IS NOT NULL AND user_id IS NULL)",
            name=op.f("ck_usage_budgets_exactly_one_member"),
        ),
        sa.CheckConstraint(
            "daily_tokens >= 0", name=op.f("ck_usage_budgets_daily_tokens_not_negative")
        ),
        sa.CheckConstraint(
            "subject IN ('user', 'agent')", name=op.f("ck_usage_budgets_subject_allowed")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_usage_budgets_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_usage_budgets_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["users.id"],
            name=op.f("fk_usage_budgets_updated_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_budgets")),
    )
    with op.batch_alter_table("usage_budgets", schema=None) as batch_op:
        batch_op.create_index("ix_usage_budgets_by_user", ["user_id"], unique=True)
        batch_op.create_index("ix_usage_budgets_by_agent", ["agent_id"], unique=True)


def downgrade() -> None:
    op.drop_table("usage_budgets")
    op.drop_table("usage_records")
