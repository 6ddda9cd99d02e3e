"""prompt execution -> refined asset foreign key on PostgreSQL

0001 declared `fk_user_prompt_executions_asset` with `use_alter=True` inside `create_table`.
SQLite renders such a constraint inline, but PostgreSQL skips it (it expects a later ALTER), so
PostgreSQL databases migrated by 0001 alone lack the constraint. This adds it where it is missing.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 11:58:51.174119
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = 'fk_user_prompt_executions_asset'


def _present() -> bool:
    foreign_keys = sa.inspect(op.get_bind()).get_foreign_keys('user_prompt_executions')
    return any(fk['name'] == NAME for fk in foreign_keys)


def upgrade() -> None:
    if _present():
        return
    op.create_foreign_key(
        NAME,
        'user_prompt_executions',
        'user_generated_assets',
        ['refined_output_asset_id'],
        ['id'],
        ondelete='SET NULL',
    )


def downgrade() -> None:
    # SQLite had the constraint from 0001 (and cannot drop it without a table rebuild).
    if op.get_bind().dialect.name != 'sqlite' and _present():
        op.drop_constraint(NAME, 'user_prompt_executions', type_='foreignkey')
