"""Course analytics and the student's CRM: tickets, feedback, A/B tests, customers, journeys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, utcnow


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
    """One variant's observation in a named A/B test (metric and value)."""

    __tablename__ = "ab_tests"
    __table_args__ = (Index("ix_ab_tests_by_user", "user_id"),)

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    test_name: Mapped[str] = mapped_column(String(200))
    variant: Mapped[str] = mapped_column(String(100))
    result: Mapped[str | None] = mapped_column(Text)
    metric: Mapped[str | None] = mapped_column(String(100))
    value: Mapped[float | None]
    notes: Mapped[str | None] = mapped_column(Text)


class Customer(_Audited, Base):
    """An end customer of a student's business."""

    __tablename__ = "customers"
    __table_args__ = (Index("ix_customers_by_user", "user_id"),)

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
    )

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(32))
    event_type: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(128))
    details: Mapped[str | None] = mapped_column(Text)
    timestamp: Mapped[datetime] = mapped_column(default=utcnow)
