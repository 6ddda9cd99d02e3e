"""Users and their sessions (the seed's `authTables` plus its custom user fields)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base


class User(Base):
    """A person who signs in: a student, a colleague in a group chat, or a course operator."""

    __tablename__ = "users"
    __table_args__ = (Index("ix_users_by_email", "email", unique=True),)

    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    image: Mapped[str | None] = mapped_column(Text)
    email_verification_time: Mapped[datetime | None]
    is_anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    is_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    onboarding_status: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(Text)
    company: Mapped[str | None] = mapped_column(String(200))
    marketing_consent: Mapped[bool | None] = mapped_column(Boolean)
    preferred_channel: Mapped[str | None] = mapped_column(String(64))
    communication_preferences: Mapped[dict[str, Any] | None]
    current_funnel_stage: Mapped[str | None] = mapped_column(String(64))
    last_active_at: Mapped[datetime | None]


class AuthSession(Base):
    """A bearer token, stored only as its SHA-256 hash; revocable and expiring."""

    __tablename__ = "auth_sessions"
    __table_args__ = (
        Index("ix_auth_sessions_by_token_hash", "token_hash", unique=True),
        Index("ix_auth_sessions_by_user", "user_id"),
    )

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    user_agent: Mapped[str | None] = mapped_column(String(400))
