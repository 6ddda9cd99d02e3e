"""Notifications: an @mention of a person, or an agent's reply to them while they were away.

Each is stored for its person only; the page shows the unread ones as a badge and marks them
read when the person opens the conversation (or all at once).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select, update

from store.base import utcnow
from store.db import Database
from store.models import Notification

MENTION, REPLY = "mention", "reply"


class Notifications:
    """Repository of `notifications`; every query is scoped to one user."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self,
        user_id: str,
        conversation_id: str,
        seq: int,
        kind: str,
        actor_name: str | None,
        preview: str,
    ) -> Notification:
        row = Notification(
            user_id=user_id,
            conversation_id=conversation_id,
            seq=seq,
            kind=kind,
            actor_name=actor_name,
            preview=preview,
        )
        async with self.db.session() as session:
            session.add(row)
            await session.flush()
        return row

    async def list_for_user(
        self, user_id: str, *, unread_only: bool = False, limit: int = 50
    ) -> list[Notification]:
        """Newest first."""
        query = select(Notification).where(Notification.user_id == user_id)
        if unread_only:
            query = query.where(Notification.read_at.is_(None))
        query = query.order_by(Notification.id.desc()).limit(limit)
        async with self.db.read() as session:
            return list(await session.scalars(query))

    async def unread_count(self, user_id: str) -> int:
        query = select(func.count()).where(
            Notification.user_id == user_id, Notification.read_at.is_(None)
        )
        async with self.db.read() as session:
            return int(await session.scalar(query) or 0)

    async def mark_read(
        self,
        user_id: str,
        *,
        ids: Iterable[str] | None = None,
        conversation_id: str | None = None,
    ) -> int:
        """Mark the user's notifications read: the given ids, a conversation's, or all of
        them. Ids of other people's notifications match nothing. The number marked."""
        query = update(Notification).where(
            Notification.user_id == user_id, Notification.read_at.is_(None)
        )
        if ids is not None:
            query = query.where(Notification.id.in_(list(ids)))
        if conversation_id is not None:
            query = query.where(Notification.conversation_id == conversation_id)
        async with self.db.session() as session:
            result = await session.execute(query.values(read_at=utcnow()))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def trigger_author(db: Database, turn_id: str) -> str | None:
    """The user whose message started the turn `turn_id` (None for an agent's or a note's)."""
    from store.models import AgentTurn, ConversationMessage, ConversationParticipant

    query = (
        select(ConversationParticipant.user_id)
        .select_from(AgentTurn)
        .join(
            ConversationMessage,
            (ConversationMessage.conversation_id == AgentTurn.conversation_id)
            & (ConversationMessage.seq == AgentTurn.trigger_seq),
        )
        .join(
            ConversationParticipant,
            ConversationParticipant.id == ConversationMessage.author_participant_id,
        )
        .where(AgentTurn.id == turn_id)
    )
    async with db.read() as session:
        return await session.scalar(query)
