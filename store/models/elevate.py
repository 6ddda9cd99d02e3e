"""The Elevate course: playbook prompts, modules, a student's Foundation, runs, assets, progress."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, choice, choice_checks, utcnow
from store.enums import AssetStatus, ElevateStep, ExecutionStatus, ProgressStatus


class PlaybookPrompt(Base):
    """A step's playbook prompt (H1, G3, S2...): a ROCKET template whose placeholders name
    Foundation fields, and the fields that must be filled before it may run."""

    __tablename__ = "playbook_prompts"
    __table_args__ = (
        Index("ix_playbook_prompts_by_step", "step"),
        UniqueConstraint("prompt_code", name="uq_playbook_prompts_prompt_code"),
        *choice_checks("playbook_prompts", [("step", ElevateStep)]),
    )

    step: Mapped[str] = choice(ElevateStep)
    prompt_code: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    rocket_template: Mapped[str] = mapped_column(Text)
    required_context: Mapped[list[Any]] = mapped_column(JSON, default=list)
    output_type: Mapped[str] = mapped_column(String(64))
    # For structured output types (JSON): the fields each item of the result carries.
    output_fields: Mapped[list[Any] | None]
    # The shipped content version last loaded, and a hash of the row as loaded: a row whose
    # content no longer matches the hash was edited by an operator and is left alone.
    content_version: Mapped[int | None] = mapped_column(Integer)
    content_hash: Mapped[str | None] = mapped_column(String(64))


class CourseModule(Base):
    """Module 0 (Foundation) to 9 (Share); `agent_id` is the module's step agent."""

    __tablename__ = "course_modules"
    __table_args__ = (
        Index("ix_course_modules_by_module_number", "module_number", unique=True),
        *choice_checks("course_modules", [("step", ElevateStep)]),
    )

    module_number: Mapped[int] = mapped_column(Integer)
    step: Mapped[str] = choice(ElevateStep)
    title: Mapped[str] = mapped_column(String(300))
    objective: Mapped[str] = mapped_column(Text)
    video_url: Mapped[str | None] = mapped_column(Text)
    text_content: Mapped[str | None] = mapped_column(Text)
    grid_definition: Mapped[Any | None] = mapped_column(JSON)
    checklist_items: Mapped[list[Any] | None]
    worksheet_url: Mapped[str | None] = mapped_column(Text)
    example_image_url: Mapped[str | None] = mapped_column(Text)
    example_text: Mapped[str | None] = mapped_column(Text)
    implementation_guide: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(32))
    category: Mapped[str | None] = mapped_column(String(64))
    tags: Mapped[list[Any] | None]
    agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime | None]
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    content_version: Mapped[int | None] = mapped_column(Integer)
    content_hash: Mapped[str | None] = mapped_column(String(64))


class UserFoundation(Base):
    """A student's business Foundation: company context, market awareness, customer avatar."""

    __tablename__ = "user_foundations"
    __table_args__ = (Index("ix_user_foundations_by_user_id", "user_id", unique=True),)

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    company_context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    market_awareness: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    customer_avatar: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    strategic_blueprint_summary: Mapped[str | None] = mapped_column(Text)
    last_updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class UserFoundationVersion(Base):
    """One change of a student's Foundation: who made it (a person or an agent), and each
    field's old and new value; `version` is the Foundation's version after the change."""

    __tablename__ = "user_foundation_versions"
    __table_args__ = (
        Index("ix_user_foundation_versions_by_user_version", "user_id", "version", unique=True),
    )

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    changed_by_user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    changed_by_agent_id: Mapped[str | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL")
    )
    changes: Mapped[list[Any]] = mapped_column(JSON, default=list)


class UserPromptExecution(Base):
    """One run of a playbook prompt with the exact Foundation snapshot it used."""

    __tablename__ = "user_prompt_executions"
    __table_args__ = (
        Index("ix_user_prompt_executions_by_user_step", "user_id", "elevate_step"),
        *choice_checks(
            "user_prompt_executions", [("elevate_step", ElevateStep), ("status", ExecutionStatus)]
        ),
    )

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    prompt_code: Mapped[str] = mapped_column(String(16))
    elevate_step: Mapped[str] = choice(ElevateStep)
    input_context_snapshot: Mapped[Any | None] = mapped_column(JSON)
    ai_request_timestamp: Mapped[datetime] = mapped_column(default=utcnow)
    ai_response: Mapped[Any | None] = mapped_column(JSON)
    ai_response_timestamp: Mapped[datetime | None]
    status: Mapped[str] = choice(ExecutionStatus, default=ExecutionStatus.PENDING)
    rendered_prompt: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    refined_output_asset_id: Mapped[str | None] = mapped_column(
        ForeignKey(
            "user_generated_assets.id",
            ondelete="SET NULL",
            use_alter=True,
            name="fk_user_prompt_executions_asset",
        )
    )


class UserGeneratedAsset(Base):
    """An asset a step produced (an ad headline, an email): Draft, Implemented or Archived."""

    __tablename__ = "user_generated_assets"
    __table_args__ = (
        Index("ix_user_generated_assets_by_user_step", "user_id", "elevate_step"),
        Index("ix_user_generated_assets_by_step", "elevate_step"),
        *choice_checks(
            "user_generated_assets", [("elevate_step", ElevateStep), ("status", AssetStatus)]
        ),
    )

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    prompt_execution_id: Mapped[str | None] = mapped_column(
        ForeignKey("user_prompt_executions.id", ondelete="SET NULL")
    )
    elevate_step: Mapped[str] = choice(ElevateStep)
    asset_type: Mapped[str] = mapped_column(String(128))
    content: Mapped[str] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = choice(AssetStatus, default=AssetStatus.DRAFT)
    last_updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserModuleProgress(Base):
    """Where a student stands in a module."""

    __tablename__ = "user_module_progress"
    __table_args__ = (
        Index("ix_user_module_progress_by_user_module", "user_id", "module_id", unique=True),
        Index("ix_user_module_progress_by_module_status", "module_id", "status"),
        *choice_checks("user_module_progress", [("status", ProgressStatus)]),
    )

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    module_id: Mapped[str] = mapped_column(ForeignKey("course_modules.id", ondelete="CASCADE"))
    status: Mapped[str] = choice(ProgressStatus, default=ProgressStatus.NOT_STARTED)
    completed_at: Mapped[datetime | None]
    notes: Mapped[str | None] = mapped_column(Text)
    checked: Mapped[list[Any] | None]
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    last_activity_at: Mapped[datetime | None]


class UserFunnelSnapshot(Base):
    """A period's funnel numbers (ATTRACT, CONVERT, GROW); KPIs and trends derive from these."""

    __tablename__ = "user_funnel_snapshots"
    __table_args__ = (
        Index("ix_user_funnel_snapshots_by_user_date", "user_id", "snapshot_date"),
        Index(
            "ix_user_funnel_snapshots_by_user_channel_date", "user_id", "channel", "snapshot_date"
        ),
        Index(
            "ix_user_funnel_snapshots_by_user_campaign_date",
            "user_id",
            "campaign_id",
            "snapshot_date",
        ),
    )

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    snapshot_date: Mapped[datetime]
    time_period: Mapped[str] = mapped_column(String(64))
    hook_avg_ctr: Mapped[float | None]
    gift_opt_in_rate: Mapped[float | None]
    gift_cpl: Mapped[float | None]
    attract_leads_total: Mapped[float | None]
    engage_assisted_conversion_rate: Mapped[float | None]
    sell_conversion_rate: Mapped[float | None]
    sell_aov_initial: Mapped[float | None]
    nurture_email_conv_rate: Mapped[float | None]
    nurture_retargeting_roas: Mapped[float | None]
    convert_total_sales: Mapped[float | None]
    convert_cpa: Mapped[float | None]
    upsell_take_rate: Mapped[float | None]
    upsell_aov_final: Mapped[float | None]
    educate_repeat_purchase_rate: Mapped[float | None]
    educate_csat_nps: Mapped[float | None]
    share_review_rate: Mapped[float | None]
    grow_cltv_estimate: Mapped[float | None]
    overall_roi: Mapped[float | None]
    notes: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(String(128))
    campaign_id: Mapped[str | None] = mapped_column(String(128))
    experiment_id: Mapped[str | None] = mapped_column(String(128))


class UserActivityLog(Base):
    """Every user action worth auditing: prompt runs, module completions, assets created."""

    __tablename__ = "user_activity_log"
    __table_args__ = (Index("ix_user_activity_log_by_user", "user_id"),)

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    action_type: Mapped[str] = mapped_column(String(64))
    action_ref: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[Any | None] = mapped_column(JSON)
    timestamp: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
