"""Appending and reading conversation messages: gap-free `seq`, idempotent sends.

The counter lives on the conversation row. Incrementing it with `UPDATE ... RETURNING` takes the
row lock (PostgreSQL) or the write lock (SQLite) for the rest of the transaction, so concurrent
appenders are serialised there, and a rolled-back append gives its number back: no gaps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from store.base import utcnow
from store.db import Database
from store.errors import NotFound, integrity_conflict
from store.models import Conversation, ConversationMessage

MAX_PAGE = 500


@dataclass(frozen=True)
class Appended:
    """The stored message, and whether this call created it (False: an idempotent retry)."""

    message: ConversationMessage
    created: bool


class _AlreadySent(Exception):
    def __init__(self, message: ConversationMessage) -> None:
        self.message = message


class Messages:
    """Repository of `conversation_messages`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def append(
        self,
        conversation_id: str,
        content: str,
        *,
        author_participant_id: str | None,
        client_msg_id: str | None = None,
        **fields: Any,
    ) -> Appended:
        """Store a message with the next `seq` of its conversation, in one transaction.

        With a `client_msg_id`, a second call by the same author returns the first message.
        """
        key = (conversation_id, author_participant_id, client_msg_id)
        if client_msg_id is not None:
            existing = await self._by_client_msg_id(*key)
            if existing is not None:
                return Appended(existing, created=False)
        try:
            async with self.db.session() as session:
                seq = await self._next_seq(session, conversation_id)
                if client_msg_id is not None:
                    # Checked again under the lock: a concurrent retry may have won the race.
                    found = await self._find(session, *key)
                    if found is not None:
                        # Detach it first: the rollback would expire it, unreadable afterwards.
                        session.expunge(found)
                        raise _AlreadySent(found)
                message = ConversationMessage(
                    conversation_id=conversation_id,
                    seq=seq,
                    content=content,
                    author_participant_id=author_participant_id,
                    client_msg_id=client_msg_id,
                    **fields,
                )
                session.add(message)
                await session.flush()
            return Appended(message, created=True)
        except _AlreadySent as already:
            return Appended(already.message, created=False)
        except IntegrityError as exc:
            if client_msg_id is not None:
                existing = await self._by_client_msg_id(*key)
                if existing is not None:
                    return Appended(existing, created=False)
            raise integrity_conflict("conversation_messages", exc) from exc

    async def after(
        self, conversation_id: str, after_seq: int = 0, limit: int = 100
    ) -> list[ConversationMessage]:
        """Messages with `seq > after_seq`, oldest first, at most `limit` (capped)."""
        limit = max(1, min(limit, MAX_PAGE))
        async with self.db.session() as session:
            rows = await session.scalars(
                select(ConversationMessage)
                .where(
                    ConversationMessage.conversation_id == conversation_id,
                    ConversationMessage.seq > after_seq,
                )
                .order_by(ConversationMessage.seq)
                .limit(limit)
            )
            return list(rows)

    async def latest(self, conversation_id: str, limit: int = 50) -> list[ConversationMessage]:
        """The last `limit` messages, oldest first: the window an agent reads."""
        async with self.db.session() as session:
            rows = await session.scalars(
                select(ConversationMessage)
                .where(ConversationMessage.conversation_id == conversation_id)
                .order_by(ConversationMessage.seq.desc())
                .limit(max(1, min(limit, MAX_PAGE)))
            )
            return list(reversed(list(rows)))

    async def get(self, conversation_id: str, seq: int) -> ConversationMessage:
        async with self.db.session() as session:
            message = await session.scalar(
                select(ConversationMessage).where(
                    ConversationMessage.conversation_id == conversation_id,
                    ConversationMessage.seq == seq,
                )
            )
        if message is None:
            raise NotFound("conversation_messages", f"{conversation_id}#{seq}", "seq")
        return message

    async def last_seq(self, conversation_id: str) -> int:
        async with self.db.session() as session:
            value = await session.scalar(
                select(Conversation.last_seq).where(Conversation.id == conversation_id)
            )
        if value is None:
            raise NotFound("conversations", conversation_id)
        return value

    async def _next_seq(self, session: AsyncSession, conversation_id: str) -> int:
        result = await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(last_seq=Conversation.last_seq + 1, last_message_time=utcnow())
            .returning(Conversation.last_seq)
        )
        seq = result.scalar_one_or_none()
        if seq is None:
            raise NotFound("conversations", conversation_id)
        return seq

    async def _by_client_msg_id(
        self, conversation_id: str, author: str | None, client_msg_id: str
    ) -> ConversationMessage | None:
        async with self.db.sessionmaker() as session:
            return await self._find(session, conversation_id, author, client_msg_id)

    @staticmethod
    async def _find(
        session: AsyncSession, conversation_id: str, author: str | None, client_msg_id: str
    ) -> ConversationMessage | None:
        return await session.scalar(
            select(ConversationMessage).where(
                ConversationMessage.conversation_id == conversation_id,
                ConversationMessage.author_participant_id == author,
                ConversationMessage.client_msg_id == client_msg_id,
            )
        )
