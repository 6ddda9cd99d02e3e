"""Groups of users and agents, the seed's `groups` and `groupMembers`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base, choice, choice_checks, exactly_one_member_check, utcnow
from store.enums import MemberKind, Role


class Group(Base):
    """A team of people and agents; conversations may belong to one."""

    __tablename__ = "groups"
    __table_args__ = (Index("ix_groups_by_owner", "owner_id"),)

    name: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))


class GroupMember(Base):
    """A user or an agent in a group: `kind` says which foreign key is set (CHECKed)."""

    __tablename__ = "group_members"
    __table_args__ = (
        Index("ix_group_members_by_group", "group_id"),
        Index("ix_group_members_by_user", "user_id"),
        Index("ix_group_members_by_agent", "agent_id"),
        UniqueConstraint("group_id", "user_id", name="uq_group_members_group_user"),
        UniqueConstraint("group_id", "agent_id", name="uq_group_members_group_agent"),
        exactly_one_member_check(),
        *choice_checks("group_members", [("kind", MemberKind), ("role", Role)]),
    )

    group_id: Mapped[str] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"))
    kind: Mapped[str] = choice(MemberKind)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    role: Mapped[str | None] = choice(Role, nullable=True, default=Role.MEMBER)
    added_by: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None]
    created_by: Mapped[str | None] = mapped_column(
        String(26), ForeignKey("users.id", ondelete="SET NULL")
    )
    updated_by: Mapped[str | None] = mapped_column(
        String(26), ForeignKey("users.id", ondelete="SET NULL")
    )
