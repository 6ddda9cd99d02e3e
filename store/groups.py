"""Groups and their members (users or agents), and who may manage them.

The owner is always an admin of their group, with a member row like everyone else, so access
checks read one table.
"""

from __future__ import annotations

from sqlalchemy import or_, select

from store import crud
from store.agents import require_live
from store.base import utcnow
from store.db import Database
from store.enums import MemberKind, Role
from store.errors import Conflict, InvalidValue
from store.models import Group, GroupMember


class Groups:
    """Repository of `groups` and `group_members`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, name: str, owner_id: str) -> Group:
        if not name.strip():
            raise InvalidValue("groups", "name", name, "a non-empty name")
        async with crud.writing(self.db, "groups") as session:
            group = await crud.add(session, crud.build(Group, name=name.strip(), owner_id=owner_id))
            owner = crud.build(
                GroupMember,
                group_id=group.id,
                kind=MemberKind.USER.value,
                user_id=owner_id,
                role=Role.ADMIN.value,
                added_by=owner_id,
                created_by=owner_id,
            )
            await crud.add(session, owner)
        return group

    async def get(self, group_id: str) -> Group:
        return await crud.get(self.db, Group, group_id)

    async def rename(self, group_id: str, name: str) -> Group:
        if not name.strip():
            raise InvalidValue("groups", "name", name, "a non-empty name")
        async with self.db.session() as session:
            group = await crud.fetch(session, Group, group_id)
            group.name = name.strip()
        return group

    async def delete(self, group_id: str) -> None:
        async with self.db.session() as session:
            await session.delete(await crud.fetch(session, Group, group_id))

    async def list_for_user(self, user_id: str) -> list[Group]:
        """Groups the user owns or belongs to, oldest first."""
        member_of = select(GroupMember.group_id).where(GroupMember.user_id == user_id)
        query = (
            select(Group)
            .where(or_(Group.owner_id == user_id, Group.id.in_(member_of)))
            .order_by(Group.id)
        )
        return await crud.scalars(self.db, query)

    async def role_of(self, group_id: str, user_id: str) -> str | None:
        """The user's role in the group (the owner is admin), or None if not a member."""
        async with self.db.session() as session:
            group = await session.get(Group, group_id)
            if group is None:
                return None
            if group.owner_id == user_id:
                return Role.ADMIN.value
            member = await session.scalar(
                select(GroupMember).where(
                    GroupMember.group_id == group_id, GroupMember.user_id == user_id
                )
            )
        return (member.role or Role.MEMBER.value) if member is not None else None

    async def members(self, group_id: str) -> list[GroupMember]:
        query = (
            select(GroupMember)
            .where(GroupMember.group_id == group_id)
            .order_by(GroupMember.added_at, GroupMember.id)
        )
        return await crud.scalars(self.db, query)

    async def add_member(
        self,
        group_id: str,
        *,
        added_by: str,
        user_id: str | None = None,
        agent_id: str | None = None,
        role: str = Role.MEMBER.value,
    ) -> GroupMember:
        """Add a user or an agent; Conflict if they are already a member."""
        if (user_id is None) == (agent_id is None):
            raise InvalidValue("group_members", "user_id/agent_id", None, "exactly one of them")
        kind = MemberKind.USER.value if user_id else MemberKind.AGENT.value
        async with crud.writing(self.db, "group_members") as session:
            await crud.fetch(session, Group, group_id)
            await require_live(session, "group_members", [agent_id])
            column = GroupMember.user_id if user_id else GroupMember.agent_id
            existing = await session.scalar(
                select(GroupMember.id).where(
                    GroupMember.group_id == group_id, column == (user_id or agent_id)
                )
            )
            if existing is not None:
                raise Conflict("group_members", "already a member of this group")
            member = crud.build(
                GroupMember,
                group_id=group_id,
                kind=kind,
                user_id=user_id,
                agent_id=agent_id,
                role=role,
                added_by=added_by,
                created_by=added_by,
            )
            await crud.add(session, member)
        return member

    async def get_member(self, group_id: str, member_id: str) -> GroupMember:
        return await crud.get(self.db, GroupMember, member_id, group_id=group_id)

    async def set_role(
        self, group_id: str, member_id: str, role: str, *, updated_by: str
    ) -> GroupMember:
        async with self.db.session() as session:
            member = await crud.fetch(session, GroupMember, member_id, group_id=group_id)
            crud.assign(member, role=role, updated_by=updated_by, updated_at=utcnow())
        return member

    async def remove_member(self, group_id: str, member_id: str) -> GroupMember:
        """Remove a member; the owner cannot be removed from their own group."""
        async with self.db.session() as session:
            member = await crud.fetch(session, GroupMember, member_id, group_id=group_id)
            group = await session.get(Group, group_id)
            if group is not None and member.user_id == group.owner_id:
                raise Conflict("group_members", "the owner cannot leave their own group")
            await session.delete(member)
        return member
