"""Conversations and their participants, and who may read or post in them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, or_, select

from store import crud
from store.agents import require_live
from store.base import utcnow
from store.db import Database
from store.enums import MemberKind, Role
from store.errors import InvalidValue, NotFound
from store.models import Conversation, ConversationParticipant, GroupMember


@dataclass(frozen=True)
class NewParticipant:
    """A participant to add: exactly one of `user_id` / `agent_id`."""

    user_id: str | None = None
    agent_id: str | None = None
    role: str = Role.MEMBER.value

    @property
    def kind(self) -> str:
        if (self.user_id is None) == (self.agent_id is None):
            raise InvalidValue(
                "conversation_participants", "user_id/agent_id", None, "exactly one of them"
            )
        return MemberKind.USER.value if self.user_id else MemberKind.AGENT.value


class Conversations:
    """Repository of `conversations` and `conversation_participants`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        title: str,
        created_by: str,
        *,
        group_id: str | None = None,
        policy: dict[str, Any] | None = None,
        participants: list[NewParticipant] = (),  # type: ignore[assignment]
    ) -> Conversation:
        """A conversation with its creator as admin and the given participants."""
        conversation = crud.build(
            Conversation, title=title, created_by=created_by, group_id=group_id, policy=policy or {}
        )
        async with crud.writing(self.db, "conversations") as session:
            await require_live(
                session, "conversation_participants", (p.agent_id for p in participants)
            )
            await crud.add(session, conversation)
            wanted = [NewParticipant(user_id=created_by, role=Role.ADMIN.value)]
            wanted += [p for p in participants if p.user_id != created_by]
            for new in wanted:
                session.add(
                    ConversationParticipant(
                        conversation_id=conversation.id,
                        kind=new.kind,
                        user_id=new.user_id,
                        agent_id=new.agent_id,
                        role=new.role,
                    )
                )
            await session.flush()
        return conversation

    async def get(self, conversation_id: str) -> Conversation:
        async with self.db.read() as session:
            return await crud.fetch(session, Conversation, conversation_id)

    async def update(self, conversation_id: str, **fields: Any) -> Conversation:
        return await crud.update(
            self.db, Conversation, conversation_id, name_reference=False, **fields
        )

    async def list_for_user(self, user_id: str, limit: int = 200) -> list[Conversation]:
        """Conversations the user takes part in (or whose group they belong to), newest first."""
        mine = select(ConversationParticipant.conversation_id).where(
            ConversationParticipant.user_id == user_id,
            ConversationParticipant.is_removed.is_(False),
        )
        groups = select(GroupMember.group_id).where(GroupMember.user_id == user_id)
        removed = select(ConversationParticipant.conversation_id).where(
            ConversationParticipant.user_id == user_id,
            ConversationParticipant.is_removed.is_(True),
        )
        query = (
            select(Conversation)
            .where(
                or_(Conversation.id.in_(mine), Conversation.group_id.in_(groups)),
                Conversation.id.not_in(removed),
            )
            .order_by(Conversation.last_message_time.desc())
            .limit(limit)
        )
        async with self.db.read() as session:
            return list(await session.scalars(query))

    async def participants(
        self, conversation_id: str, *, include_removed: bool = False
    ) -> list[ConversationParticipant]:
        query = select(ConversationParticipant).where(
            ConversationParticipant.conversation_id == conversation_id
        )
        if not include_removed:
            query = query.where(ConversationParticipant.is_removed.is_(False))
        async with self.db.read() as session:
            return list(await session.scalars(query.order_by(ConversationParticipant.added_at)))

    async def add_participant(
        self, conversation_id: str, new: NewParticipant
    ) -> ConversationParticipant:
        """Add a user or agent; adding a removed one brings them back with the new role."""
        kind = new.kind
        async with crud.writing(self.db, "conversation_participants") as session:
            await crud.fetch(session, Conversation, conversation_id)
            await require_live(session, "conversation_participants", [new.agent_id])
            existing = await session.scalar(
                select(ConversationParticipant).where(
                    ConversationParticipant.conversation_id == conversation_id,
                    ConversationParticipant.user_id == new.user_id
                    if new.user_id
                    else ConversationParticipant.agent_id == new.agent_id,
                )
            )
            if existing is not None:
                existing.is_removed = False
                existing.status = "active"
                existing.role = new.role
                return existing
            participant = crud.build(
                ConversationParticipant,
                conversation_id=conversation_id,
                kind=kind,
                user_id=new.user_id,
                agent_id=new.agent_id,
                role=new.role,
            )
            await crud.add(session, participant)
        return participant

    async def remove_participant(
        self, conversation_id: str, participant_id: str
    ) -> ConversationParticipant:
        """Mark a participant removed; their messages keep their author."""
        async with self.db.session() as session:
            participant = await crud.fetch(
                session, ConversationParticipant, participant_id, conversation_id=conversation_id
            )
            participant.is_removed = True
            participant.status = "removed"
        return participant

    async def participant_for_user(
        self, conversation_id: str, user_id: str
    ) -> ConversationParticipant | None:
        return await self._participant(conversation_id, ConversationParticipant.user_id, user_id)

    async def participant_for_agent(
        self, conversation_id: str, agent_id: str
    ) -> ConversationParticipant | None:
        return await self._participant(conversation_id, ConversationParticipant.agent_id, agent_id)

    async def access(self, conversation_id: str, user_id: str) -> str | None:
        """The user's role here (admin, member, observer), or None if they may not see it.

        A participant's own row decides (a removed participant has no access even if they are
        in the group); otherwise membership of the conversation's group gives its role. A group
        observer is an observer in every conversation of the group, whatever their row says,
        so a demotion applies at once. Read on every request and frame: never cached.
        """
        async with self.db.read() as session:
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None:
                return None
            participant = await session.scalar(
                select(ConversationParticipant).where(
                    ConversationParticipant.conversation_id == conversation_id,
                    ConversationParticipant.user_id == user_id,
                )
            )
            if participant is not None and participant.is_removed:
                return None
            member = None
            if conversation.group_id is not None:
                member = await session.scalar(
                    select(GroupMember).where(
                        GroupMember.group_id == conversation.group_id,
                        GroupMember.user_id == user_id,
                    )
                )
        group_role = (member.role or Role.MEMBER.value) if member is not None else None
        if group_role == Role.OBSERVER.value:
            return group_role
        return participant.role if participant is not None else group_role

    async def touch(self, conversation_id: str) -> None:
        await self.update(conversation_id, last_message_time=utcnow())

    async def _participant(
        self, conversation_id: str, column: Any, value: str
    ) -> ConversationParticipant | None:
        query = select(ConversationParticipant).where(
            ConversationParticipant.conversation_id == conversation_id,
            column == value,
            ConversationParticipant.is_removed.is_(False),
        )
        async with self.db.read() as session:
            return await session.scalar(query)

    async def set_role(
        self, conversation_id: str, participant_id: str, role: str
    ) -> ConversationParticipant:
        """Change a participant's role (the role is read on every request and frame)."""
        async with crud.writing(self.db, "conversation_participants") as session:
            participant = await crud.fetch(
                session, ConversationParticipant, participant_id, conversation_id=conversation_id
            )
            if participant.is_removed:
                raise NotFound("conversation_participants", participant_id)
            crud.assign(participant, role=role)
        return participant

    async def set_archived(self, conversation_id: str, archived: bool) -> Conversation:
        return await self.update(conversation_id, archived_at=utcnow() if archived else None)

    async def delete(self, conversation_id: str) -> None:
        """Delete the conversation with its messages, participants, turns and read positions
        (the foreign keys cascade)."""
        async with self.db.session() as session:
            await session.execute(delete(Conversation).where(Conversation.id == conversation_id))
