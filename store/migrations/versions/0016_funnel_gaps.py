"""the funnel rollup keeps each customer's depth and the gaps between steps, indexed

`customer_funnels` gains `depth` (how many leading Hook..Share steps the customer reached) and,
per step after Hook, `<step>_gap` (seconds since the previous step's first event, NULL unless
reached in order), each indexed with `user_id`: the whole funnel's counts become index ranges
and its medians index walks. Existing rows are filled from their first-time columns.

Revision ID: 0016_funnel_gaps
Revises: 0015_rooms_unread
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_funnel_gaps"
down_revision: str | None = "0015_rooms_unread"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STEPS = ("hook", "gift", "identify", "engage", "sell", "nurture", "upsell", "educate", "share")
GAPS = [f"{step}_gap" for step in STEPS[1:]]


def _backfill() -> str:
    times = [f"{step}_first" for step in STEPS]
    whens = " ".join(f"WHEN {t} IS NULL THEN {i}" for i, t in enumerate(times))
    sets = [f"depth = CASE {whens} ELSE {len(times)} END"]
    for k in range(1, len(times)):
        reached = " AND ".join(f"{t} IS NOT NULL" for t in times[: k + 1])
        sets.append(
            f"{GAPS[k - 1]} = CASE WHEN {reached} AND {times[k]} >= {times[k - 1]} "
            f"THEN {times[k]} - {times[k - 1]} END"
        )
    return f"UPDATE customer_funnels SET {', '.join(sets)}"


def upgrade() -> None:
    with op.batch_alter_table("customer_funnels", schema=None) as batch_op:
        batch_op.add_column(sa.Column("depth", sa.Integer(), server_default="0", nullable=False))
        for gap in GAPS:
            batch_op.add_column(sa.Column(gap, sa.Float(), nullable=True))
    op.execute(_backfill())
    op.create_index("ix_customer_funnels_depth", "customer_funnels", ["user_id", "depth"])
    for gap in GAPS:
        op.create_index(f"ix_customer_funnels_{gap}", "customer_funnels", ["user_id", gap])


def downgrade() -> None:
    for gap in GAPS:
        op.drop_index(f"ix_customer_funnels_{gap}", table_name="customer_funnels")
    op.drop_index("ix_customer_funnels_depth", table_name="customer_funnels")
    with op.batch_alter_table("customer_funnels", schema=None) as batch_op:
        for name in ("depth", *GAPS):
            batch_op.drop_column(name)
