"""Groups and their members (users or agents), and who may manage them.

The owner is always an admin of their group, with a member row like everyone else, so access
checks read one table.

Membership reaches the group's conversations in the same transaction that changes it: an agent
that joins the group joins every conversation of the group (so it answers there); a member who
leaves (user or agent) leaves them too, marked `left_group`, and comes back to them on rejoining.
A participant an admin removed from one conversation stays removed from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from store import crud
from store.agents import require_live
from store.base import utcnow
from store.db import Database
from store.enums import MemberKind, Role
from store.errors import Conflict, InvalidValue
from store.models import Conversation, ConversationParticipant, Group, GroupMember

LEFT_GROUP = "left_group"


@dataclass(frozen=True)
class Change:
    """A membership change and the conversation participants it changed with it, so the
    server can tell the conversations' open sockets."""

    member: GroupMember
    participants: list[ConversationParticipant] = field(default_factory=list)
    # Conversations of the group the member was in without a participant row (read only).
    conversation_ids: list[str] = field(default_factory=list)


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
        return (
            await self.join(
                group_id, added_by=added_by, user_id=user_id, agent_id=agent_id, role=role
            )
        ).member

    async def join(
        self,
        group_id: str,
        *,
        added_by: str,
        user_id: str | None = None,
        agent_id: str | None = None,
        role: str = Role.MEMBER.value,
    ) -> Change:
        """`add_member`, with the participant rows it added to the group's conversations (an
        agent joins them all) or brought back (a member who had left the group)."""
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
            participants = await _rejoin(session, member)
        return Change(member, participants)

    async def get_member(self, group_id: str, member_id: str) -> GroupMember:
        return await crud.get(self.db, GroupMember, member_id, group_id=group_id)

    async def set_role(
        self, group_id: str, member_id: str, role: str, *, updated_by: str
    ) -> GroupMember:
        """Change a member's role; it applies at once in the group's conversations, where a
        group observer is an observer (see `Conversations.access`)."""
        async with self.db.session() as session:
            member = await crud.fetch(session, GroupMember, member_id, group_id=group_id)
            crud.assign(member, role=role, updated_by=updated_by, updated_at=utcnow())
        return member

    async def remove_member(self, group_id: str, member_id: str) -> GroupMember:
        """Remove a member; the owner cannot be removed from their own group."""
        return (await self.leave(group_id, member_id)).member

    async def leave(self, group_id: str, member_id: str) -> Change:
        """`remove_member`, which also takes the member out of every conversation of the group
        (`left_group`): the participant rows it removed, and the group's other conversations."""
        async with self.db.session() as session:
            member = await crud.fetch(session, GroupMember, member_id, group_id=group_id)
            group = await session.get(Group, group_id)
            if group is not None and member.user_id == group.owner_id:
                raise Conflict("group_members", "the owner cannot leave their own group")
            await session.delete(member)
            rows = await _rows_in_group(session, member)
            removed = [row for row in rows if not row.is_removed]
            for row in removed:
                row.is_removed, row.status = True, LEFT_GROUP
            with_row = {row.conversation_id for row in rows}
            others = [c for c in await _conversation_ids(session, group_id) if c not in with_row]
        return Change(member, removed, others)


async def _conversation_ids(session: AsyncSession, group_id: str) -> list[str]:
    query = select(Conversation.id).where(Conversation.group_id == group_id)
    return list(await session.scalars(query.order_by(Conversation.id)))


async def _rows_in_group(
    session: AsyncSession, member: GroupMember
) -> list[ConversationParticipant]:
    """The member's participant rows (removed ones too) in the group's conversations."""
    column = ConversationParticipant.user_id if member.user_id else ConversationParticipant.agent_id
    query = select(ConversationParticipant).where(
        column == (member.user_id or member.agent_id),
        ConversationParticipant.conversation_id.in_(
            select(Conversation.id).where(Conversation.group_id == member.group_id)
        ),
    )
    return list(await session.scalars(query))


async def _rejoin(session: AsyncSession, member: GroupMember) -> list[ConversationParticipant]:
    """Bring a (re)joining member back where leaving the group took them out; an agent also
    joins the group's conversations it is not in yet."""
    rows = await _rows_in_group(session, member)
    changed = [row for row in rows if row.is_removed and row.status == LEFT_GROUP]
    for row in changed:
        row.is_removed, row.status = False, "active"
    if member.agent_id is not None:
        present = {row.conversation_id for row in rows}
        for conversation_id in await _conversation_ids(session, member.group_id):
            if conversation_id in present:
                continue
            row = crud.build(
                ConversationParticipant,
                conversation_id=conversation_id,
                kind=MemberKind.AGENT.value,
                agent_id=member.agent_id,
                role=Role.MEMBER.value,
            )
            changed.append(await crud.add(session, row))
    await session.flush()
    return changed
