"""The usage ledger and budget overrides: what each model-using run consumed and cost."""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, choice, choice_checks, exactly_one_member_check
from store.enums import BudgetSubject, UsageSource


class UsageRecord(Base):
    """One agent turn's or playbook run's tokens and cost, on the UTC `day` it ran.

    `user_id` is the person it ran for (the sender of the message a turn answers, also for the
    turns it delegates to); `cost` is USD from the price table, `priced` false when the model
    had no price. Rows outlive the conversation, agent and person: budgets and totals stay.
    """

    __tablename__ = "usage_records"
    __table_args__ = (
        Index("ix_usage_records_by_user_day", "user_id", "day"),
        Index("ix_usage_records_by_agent_day", "agent_id", "day"),
        Index("ix_usage_records_by_day", "day"),
        Index("ix_usage_records_by_conversation", "conversation_id"),
        Index("ix_usage_records_by_turn", "turn_id"),
        *choice_checks("usage_records", [("source", UsageSource)]),
    )

    day: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = choice(UsageSource)
    turn_id: Mapped[str | None] = mapped_column(ForeignKey("agent_turns.id", ondelete="SET NULL"))
    parent_turn_id: Mapped[str | None] = mapped_column(String(26))
    execution_id: Mapped[str | None] = mapped_column(
        ForeignKey("user_prompt_executions.id", ondelete="SET NULL")
    )
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    model: Mapped[str | None] = mapped_column(String(200))
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cached_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    priced: Mapped[bool] = mapped_column(Boolean, default=True)


class UsageBudget(Base):
    """A daily token budget for one person or one agent, replacing the setting's default."""

    __tablename__ = "usage_budgets"
    __table_args__ = (
        Index("ix_usage_budgets_by_user", "user_id", unique=True),
        Index("ix_usage_budgets_by_agent", "agent_id", unique=True),
        exactly_one_member_check("subject"),
        CheckConstraint("daily_tokens >= 0", name="daily_tokens_not_negative"),
        *choice_checks("usage_budgets", [("subject", BudgetSubject)]),
    )

    subject: Mapped[str] = choice(BudgetSubject)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    daily_tokens: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
