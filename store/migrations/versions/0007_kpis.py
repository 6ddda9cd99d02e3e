"""kpis: A/B exposures and conversions, targets, remembered CSV mappings, aggregation indexes

`ab_tests` gains `exposures` and `conversions` (the significance test reads them); students'
own KPI targets and their confirmed CSV column mappings get tables; `customer_funnels` keeps
each customer's first event time per step (epoch seconds) (the closed funnel reads it, not every event); the
KPI aggregations get the indexes they group by.

Revision ID: 0007_kpis
Revises: 0006_course
Create Date: 2026-12-04 18:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from store.base import UTCDateTime

revision: str = "0007_kpis"
down_revision: str | None = "0006_course"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STEPS = ("hook", "gift", "identify", "engage", "sell", "nurture", "upsell", "educate", "share")
INDEXES = [
    ("ix_ab_tests_by_user_test_variant", "ab_tests", ["user_id", "test_name", "variant"]),
    ("ix_customers_by_user_segment", "customers", ["user_id", "segment"]),
    ("ix_customers_by_user_email", "customers", ["user_id", "email"]),
    (
        "ix_customer_journey_events_funnel",
        "customer_journey_events",
        ["user_id", "customer_id", "step", "timestamp", "channel"],
    ),
    ("ix_support_tickets_by_module_status", "support_tickets", ["module_id", "status"]),
    ("ix_user_generated_assets_by_step", "user_generated_assets", ["elevate_step"]),
    ("ix_user_module_progress_by_module_status", "user_module_progress", ["module_id", "status"]),
    (
        "ix_user_funnel_snapshots_by_user_channel_date",
        "user_funnel_snapshots",
        ["user_id", "channel", "snapshot_date"],
    ),
    (
        "ix_user_funnel_snapshots_by_user_campaign_date",
        "user_funnel_snapshots",
        ["user_id", "campaign_id", "snapshot_date"],
    ),
]


def _owned(table: str, *columns: sa.Column) -> None:
    op.create_table(
        table,
        sa.Column("user_id", sa.String(length=26), nullable=False),
        *columns,
        sa.Column("updated_at", UTCDateTime(), nullable=True),
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f(f"fk_{table}_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    )


def upgrade() -> None:
    with op.batch_alter_table("ab_tests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("exposures", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("conversions", sa.Integer(), nullable=True))
    _owned(
        "kpi_targets",
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
    )
    op.create_index(
        "ix_kpi_targets_by_user_metric", "kpi_targets", ["user_id", "metric"], unique=True
    )
    _owned(
        "csv_mappings",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
    )
    op.create_index(
        "ix_csv_mappings_by_user_kind", "csv_mappings", ["user_id", "kind"], unique=True
    )
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    op.create_table(
        "customer_funnels",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("customer_id", sa.String(length=26), nullable=False),
        sa.Column("user_id", sa.String(length=26), nullable=False),
        *[sa.Column(f"{step}_first", sa.Float(), nullable=True) for step in STEPS],
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_funnels_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_customer_funnels_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_funnels")),
    )
    op.create_index("ix_customer_funnels_by_user", "customer_funnels", ["user_id"])
    op.create_index(
        "ix_customer_funnels_by_customer", "customer_funnels", ["customer_id"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ix_customer_funnels_by_customer", table_name="customer_funnels")
    op.drop_index("ix_customer_funnels_by_user", table_name="customer_funnels")
    op.drop_table("customer_funnels")
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_index("ix_csv_mappings_by_user_kind", table_name="csv_mappings")
    op.drop_table("csv_mappings")
    op.drop_index("ix_kpi_targets_by_user_metric", table_name="kpi_targets")
    op.drop_table("kpi_targets")
    with op.batch_alter_table("ab_tests", schema=None) as batch_op:
        batch_op.drop_column("conversions")
        batch_op.drop_column("exposures")
