"""course: content versions, Foundation history, checklist ticks and module conversations

Shipped course content carries a version and a hash of the row as loaded, so a restart can
tell an operator's edit from an untouched row. Every Foundation change is kept as a version.
A student's module progress holds their checklist ticks, their conversation with the step
agent and when they last worked in the module.

Revision ID: 0006_course
Revises: 0005_agent_soft_delete
Create Date: 2026-12-04 18:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.base  # noqa: F401  (UTCDateTime)

revision: str = "0006_course"
down_revision: str | None = "0005_agent_soft_delete"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("course_modules", "playbook_prompts"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("content_version", sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column("content_hash", sa.String(length=64), nullable=True))
    with op.batch_alter_table("playbook_prompts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("output_fields", sa.JSON(), nullable=True))
    with op.batch_alter_table("user_prompt_executions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rendered_prompt", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("error", sa.Text(), nullable=True))
    with op.batch_alter_table("user_foundations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("user_module_progress", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checked", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("conversation_id", sa.String(length=26), nullable=True))
        batch_op.add_column(
            sa.Column("last_activity_at", store.base.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key(
            op.f("fk_user_module_progress_conversation_id_conversations"),
            "conversations",
            ["conversation_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_table(
        "user_foundation_versions",
        sa.Column("user_id", sa.String(length=26), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changed_by_user_id", sa.String(length=26), nullable=True),
        sa.Column("changed_by_agent_id", sa.String(length=26), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("created_at", store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["changed_by_agent_id"],
            ["agents.id"],
            name=op.f("fk_user_foundation_versions_changed_by_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["changed_by_user_id"],
            ["users.id"],
            name=op.f("fk_user_foundation_versions_changed_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_foundation_versions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_foundation_versions")),
    )
    with op.batch_alter_table("user_foundation_versions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_user_foundation_versions_by_user_version", ["user_id", "version"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("user_foundation_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_user_foundation_versions_by_user_version")
    op.drop_table("user_foundation_versions")
    with op.batch_alter_table("user_module_progress", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("fk_user_module_progress_conversation_id_conversations"), type_="foreignkey"
        )
        batch_op.drop_column("last_activity_at")
        batch_op.drop_column("conversation_id")
        batch_op.drop_column("checked")
    with op.batch_alter_table("user_foundations", schema=None) as batch_op:
        batch_op.drop_column("version")
    with op.batch_alter_table("playbook_prompts", schema=None) as batch_op:
        batch_op.drop_column("output_fields")
    with op.batch_alter_table("user_prompt_executions", schema=None) as batch_op:
        batch_op.drop_column("error")
        batch_op.drop_column("rendered_prompt")
    for table in ("course_modules", "playbook_prompts"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("content_hash")
            batch_op.drop_column("content_version")
