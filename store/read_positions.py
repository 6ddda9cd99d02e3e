"""Read positions and mutes: what each person has seen of a conversation, on all their devices.

A person's unread count in a conversation is the number of messages by someone else (people and
agents, not system notes) with a seq above their read position. The position only moves
forward and never past the conversation's last seq.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from store.base import utcnow
from store.db import Database
from store.enums import MessageKind
from store.models import (
    Agent,
    Conversation,
    ConversationMessage,
    ConversationParticipant,
    ConversationRead,
    GroupMember,
    User,
)

PREVIEW_CHARS = 140


@dataclass(frozen=True)
class ReadState:
    """One person's view of one conversation."""

    conversation_id: str
    last_read_seq: int
    unread: int
    muted: bool


@dataclass(frozen=True)
class Preview:
    """The latest message of a conversation, shortened for a list."""

    seq: int
    author: str | None
    text: str


@dataclass(frozen=True)
class Recipient:
    """Someone who may read a conversation: its user participants and its group's members."""

    user_id: str
    name: str
    muted: bool
    participant: bool


def shorten(text: str, limit: int = PREVIEW_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _by_others(user_id: str):  # type: ignore[no-untyped-def]
    """Messages that count as unread for `user_id`: written by a participant who is not them."""
    return and_(
        ConversationMessage.kind == MessageKind.PARTICIPANT.value,
        or_(ConversationParticipant.user_id.is_(None), ConversationParticipant.user_id != user_id),
    )


class ReadPositions:
    """Repository of `conversation_reads`, and the unread counts derived from it."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def state(self, conversation_id: str, user_id: str) -> ReadState:
        async with self.db.read() as session:
            row = await self._row(session, conversation_id, user_id)
            seen = row.last_read_seq if row is not None else 0
            unread = await self._unread(session, conversation_id, user_id, seen)
        return ReadState(conversation_id, seen, unread, bool(row and row.muted))

    async def mark_read(self, conversation_id: str, user_id: str, seq: int) -> ReadState:
        """Move the read position forward to `seq` (clamped to the last seq); never back."""
        await self._write(conversation_id, user_id, seq=seq)
        return await self.state(conversation_id, user_id)

    async def set_muted(self, conversation_id: str, user_id: str, muted: bool) -> ReadState:
        await self._write(conversation_id, user_id, muted=muted)
        return await self.state(conversation_id, user_id)

    async def states(self, user_id: str, conversation_ids: Iterable[str]) -> dict[str, ReadState]:
        """Read states of many conversations in two queries (for the conversation list)."""
        ids = list(conversation_ids)
        if not ids:
            return {}
        reads = (
            select(ConversationRead)
            .where(ConversationRead.user_id == user_id)
            .where(ConversationRead.conversation_id.in_(ids))
        )
        counts = (
            select(ConversationMessage.conversation_id, func.count())
            .select_from(ConversationMessage)
            .outerjoin(
                ConversationParticipant,
                ConversationParticipant.id == ConversationMessage.author_participant_id,
            )
            .outerjoin(
                ConversationRead,
                and_(
                    ConversationRead.conversation_id == ConversationMessage.conversation_id,
                    ConversationRead.user_id == user_id,
                ),
            )
            .where(
                ConversationMessage.conversation_id.in_(ids),
                ConversationMessage.seq > func.coalesce(ConversationRead.last_read_seq, 0),
                _by_others(user_id),
            )
            .group_by(ConversationMessage.conversation_id)
        )
        async with self.db.read() as session:
            rows = {r.conversation_id: r for r in await session.scalars(reads)}
            unread = dict((await session.execute(counts)).all())
        return {
            cid: ReadState(
                cid,
                rows[cid].last_read_seq if cid in rows else 0,
                int(unread.get(cid, 0)),
                bool(cid in rows and rows[cid].muted),
            )
            for cid in ids
        }

    async def previews(self, conversation_ids: Iterable[str]) -> dict[str, Preview]:
        """The latest person's or agent's message of each conversation."""
        ids = list(conversation_ids)
        if not ids:
            return {}
        latest = (
            select(
                ConversationMessage.conversation_id,
                func.max(ConversationMessage.seq).label("seq"),
            )
            .where(
                ConversationMessage.conversation_id.in_(ids),
                ConversationMessage.kind == MessageKind.PARTICIPANT.value,
            )
            .group_by(ConversationMessage.conversation_id)
            .subquery()
        )
        query = (
            select(ConversationMessage, ConversationParticipant)
            .join(
                latest,
                and_(
                    latest.c.conversation_id == ConversationMessage.conversation_id,
                    latest.c.seq == ConversationMessage.seq,
                ),
            )
            .outerjoin(
                ConversationParticipant,
                ConversationParticipant.id == ConversationMessage.author_participant_id,
            )
        )
        async with self.db.read() as session:
            rows = (await session.execute(query)).all()
            names = await _author_names(session, [p for _, p in rows if p is not None])
        return {
            m.conversation_id: Preview(m.seq, names.get(p.id) if p else None, shorten(m.content))
            for m, p in rows
        }

    async def recipients(self, conversation_id: str) -> list[Recipient]:
        """Everyone who reads the conversation now: its people (not removed) and the members
        of its group who were not removed from it, with their mute flags."""
        async with self.db.read() as session:
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None:
                return []
            rows = list(
                await session.scalars(
                    select(ConversationParticipant).where(
                        ConversationParticipant.conversation_id == conversation_id,
                        ConversationParticipant.user_id.is_not(None),
                    )
                )
            )
            users = {r.user_id: not r.is_removed for r in rows if r.user_id}
            if conversation.group_id is not None:
                members = await session.scalars(
                    select(GroupMember.user_id).where(
                        GroupMember.group_id == conversation.group_id,
                        GroupMember.user_id.is_not(None),
                    )
                )
                for member in members:
                    users.setdefault(member, True)
            live = [u for u, ok in users.items() if ok and u]
            if not live:
                return []
            names = dict(
                (await session.execute(select(User.id, User.name).where(User.id.in_(live)))).all()
            )
            muted = set(
                await session.scalars(
                    select(ConversationRead.user_id).where(
                        ConversationRead.conversation_id == conversation_id,
                        ConversationRead.user_id.in_(live),
                        ConversationRead.muted.is_(True),
                    )
                )
            )
        participants = {r.user_id for r in rows if r.user_id and not r.is_removed}
        return [
            Recipient(u, names.get(u, ""), u in muted, u in participants)
            for u in live
            if u in names
        ]

    async def _unread(
        self, session: AsyncSession, conversation_id: str, user_id: str, seen: int
    ) -> int:
        query = (
            select(func.count())
            .select_from(ConversationMessage)
            .outerjoin(
                ConversationParticipant,
                ConversationParticipant.id == ConversationMessage.author_participant_id,
            )
            .where(
                ConversationMessage.conversation_id == conversation_id,
                ConversationMessage.seq > seen,
                _by_others(user_id),
            )
        )
        return int(await session.scalar(query) or 0)

    @staticmethod
    async def _row(
        session: AsyncSession, conversation_id: str, user_id: str
    ) -> ConversationRead | None:
        return await session.scalar(
            select(ConversationRead).where(
                ConversationRead.conversation_id == conversation_id,
                ConversationRead.user_id == user_id,
            )
        )

    async def _write(
        self,
        conversation_id: str,
        user_id: str,
        *,
        seq: int | None = None,
        muted: bool | None = None,
    ) -> None:
        # Two devices marking read at once may both insert: the loser retries as an update.
        for attempt in range(2):
            try:
                async with self.db.session() as session:
                    last = await session.scalar(
                        select(Conversation.last_seq).where(Conversation.id == conversation_id)
                    )
                    row = await self._row(session, conversation_id, user_id)
                    if row is None:
                        row = ConversationRead(
                            conversation_id=conversation_id,
                            user_id=user_id,
                            last_read_seq=0,
                            muted=False,
                        )
                        session.add(row)
                    if seq is not None:
                        row.last_read_seq = max(row.last_read_seq or 0, min(seq, last or 0))
                    if muted is not None:
                        row.muted = muted
                    row.updated_at = utcnow()
                return
            except IntegrityError:
                if attempt:
                    raise


async def _author_names(
    session: AsyncSession, participants: list[ConversationParticipant]
) -> dict[str, str]:
    """Display names of message authors: the user's name or the agent's."""
    user_ids = [p.user_id for p in participants if p.user_id]
    agent_ids = [p.agent_id for p in participants if p.agent_id]
    users = dict(
        (await session.execute(select(User.id, User.name).where(User.id.in_(user_ids)))).all()
        if user_ids
        else []
    )
    agents = dict(
        (await session.execute(select(Agent.id, Agent.name).where(Agent.id.in_(agent_ids)))).all()
        if agent_ids
        else []
    )
    return {
        p.id: (users.get(p.user_id) if p.user_id else agents.get(p.agent_id or "")) or ""
        for p in participants
    }
