"""Course analytics and the student's CRM: tickets, feedback, A/B tests, customers, journeys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, utcnow

# The funnel steps after Hook (the rollup keeps a gap column for each); the order of the course.
GAP_STEPS = ("gift", "identify", "engage", "sell", "nurture", "upsell", "educate", "share")


class _Audited:
    """The seed's audit columns, shared by the analytics tables."""

    updated_at: Mapped[datetime | None]
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class SupportTicket(_Audited, Base):
    __tablename__ = "support_tickets"
    __table_args__ = (
        Index("ix_support_tickets_by_user", "user_id"),
        Index("ix_support_tickets_by_module", "module_id"),
        Index("ix_support_tickets_by_module_status", "module_id", "status"),
    )

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    module_id: Mapped[str | None] = mapped_column(
        ForeignKey("course_modules.id", ondelete="SET NULL")
    )
    subject: Mapped[str] = mapped_column(String(300))
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(32), default="open")


class UserFeedback(_Audited, Base):
    """CSAT (1-5) and NPS (0-10) answers and self-reported results."""

    __tablename__ = "user_feedback"
    __table_args__ = (
        Index("ix_user_feedback_by_user", "user_id"),
        Index("ix_user_feedback_by_module", "module_id"),
    )

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    module_id: Mapped[str | None] = mapped_column(
        ForeignKey("course_modules.id", ondelete="SET NULL")
    )
    csat: Mapped[float | None]
    nps: Mapped[float | None]
    feedback: Mapped[str | None] = mapped_column(Text)
    self_reported_results: Mapped[str | None] = mapped_column(Text)


class AbTest(_Audited, Base):
    """One variant's result in a named A/B test: how many saw it and how many converted."""

    __tablename__ = "ab_tests"
    __table_args__ = (
        Index("ix_ab_tests_by_user", "user_id"),
        Index("ix_ab_tests_by_user_test_variant", "user_id", "test_name", "variant"),
    )

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    test_name: Mapped[str] = mapped_column(String(200))
    variant: Mapped[str] = mapped_column(String(100))
    result: Mapped[str | None] = mapped_column(Text)
    metric: Mapped[str | None] = mapped_column(String(100))
    value: Mapped[float | None]
    notes: Mapped[str | None] = mapped_column(Text)
    exposures: Mapped[int | None] = mapped_column(Integer)
    conversions: Mapped[int | None] = mapped_column(Integer)


class Customer(_Audited, Base):
    """An end customer of a student's business."""

    __tablename__ = "customers"
    __table_args__ = (
        Index("ix_customers_by_user", "user_id"),
        Index("ix_customers_by_user_segment", "user_id", "segment"),
        Index("ix_customers_by_user_email", "user_id", "email"),
    )

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    segment: Mapped[str | None] = mapped_column(String(200))
    tags: Mapped[list[Any] | None]
    phone: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(Text)
    company: Mapped[str | None] = mapped_column(String(200))
    marketing_consent: Mapped[bool | None] = mapped_column(Boolean)
    preferred_channel: Mapped[str | None] = mapped_column(String(64))
    communication_preferences: Mapped[Any | None] = mapped_column(JSON)


class CustomerJourneyEvent(_Audited, Base):
    """A customer's step through the funnel (opt-in, purchase, review)."""

    __tablename__ = "customer_journey_events"
    __table_args__ = (
        Index("ix_customer_journey_events_by_customer", "customer_id"),
        Index("ix_customer_journey_events_by_user", "user_id"),
        # Covers the closed-funnel aggregation: one index-only pass per student.
        Index(
            "ix_customer_journey_events_funnel",
            "user_id",
            "customer_id",
            "step",
            "timestamp",
            "channel",
        ),
    )

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(32))
    event_type: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(128))
    details: Mapped[str | None] = mapped_column(Text)
    timestamp: Mapped[datetime] = mapped_column(default=utcnow)


class KpiTarget(Base):
    """A student's own target for one funnel metric (the course default applies otherwise)."""

    __tablename__ = "kpi_targets"
    __table_args__ = (Index("ix_kpi_targets_by_user_metric", "user_id", "metric", unique=True),)

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    metric: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime | None]


class CsvMapping(Base):
    """The CSV column mapping a student confirmed for one kind of import, reused next time."""

    __tablename__ = "csv_mappings"
    __table_args__ = (Index("ix_csv_mappings_by_user_kind", "user_id", "kind", unique=True),)

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime | None]


class CustomerFunnel(Base):
    """Per customer, the first event time at each step (epoch seconds, so that differences
    and medians need no date parsing): a rollup of `customer_journey_events` that the
    closed-funnel query reads instead of every event. One row per customer; the store
    refreshes a customer's row in the transaction that adds their events."""

    __tablename__ = "customer_funnels"
    __table_args__ = (
        Index("ix_customer_funnels_by_user", "user_id"),
        Index("ix_customer_funnels_by_customer", "customer_id", unique=True),
        Index("ix_customer_funnels_depth", "user_id", "depth"),
        *(Index(f"ix_customer_funnels_{step}_gap", "user_id", f"{step}_gap") for step in GAP_STEPS),
    )

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    hook_first: Mapped[float | None] = mapped_column(Float)
    gift_first: Mapped[float | None] = mapped_column(Float)
    identify_first: Mapped[float | None] = mapped_column(Float)
    engage_first: Mapped[float | None] = mapped_column(Float)
    sell_first: Mapped[float | None] = mapped_column(Float)
    nurture_first: Mapped[float | None] = mapped_column(Float)
    upsell_first: Mapped[float | None] = mapped_column(Float)
    educate_first: Mapped[float | None] = mapped_column(Float)
    share_first: Mapped[float | None] = mapped_column(Float)
    # Derived from the first times above, for the whole Hook..Share funnel: how many leading
    # steps the customer reached, and per later step the seconds since the previous step's first
    # event (NULL unless reached, in order). Indexed, a count is an index range and a median an
    # index walk to the middle.
    depth: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    gift_gap: Mapped[float | None] = mapped_column(Float)
    identify_gap: Mapped[float | None] = mapped_column(Float)
    engage_gap: Mapped[float | None] = mapped_column(Float)
    sell_gap: Mapped[float | None] = mapped_column(Float)
    nurture_gap: Mapped[float | None] = mapped_column(Float)
    upsell_gap: Mapped[float | None] = mapped_column(Float)
    educate_gap: Mapped[float | None] = mapped_column(Float)
    share_gap: Mapped[float | None] = mapped_column(Float)
