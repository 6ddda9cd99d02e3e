"""Editing and deleting one's own messages: an edit keeps what it replaced, a delete leaves a
tombstone (the row and its `seq` stay, the content goes).

Neither takes a new message `seq`: the order of the conversation does not change. Each takes
the next `edit_seq` of the conversation instead, with the same `UPDATE ... RETURNING` on the
conversation row that serialises appends, so concurrent edits of a conversation are applied
one after another and a client resuming with the last `edit_seq` it saw learns what changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.base import utcnow
from store.db import Database
from store.enums import MemberKind, MessageKind
from store.errors import NotFound, StoreError
from store.models import (
    Conversation,
    ConversationMessage,
    ConversationParticipant,
    MessageEdit,
)

# Message types a person may edit or delete: their chat lines, not the markers of actions.
EDITABLE_TYPES = (None, "chat")
MAX_CHANGES = 500


class NotAuthor(StoreError):
    """Only a message's author may change it (an agent's message belongs to the agent)."""

    code = "not_author"

    def __init__(self, seq: int) -> None:
        super().__init__(
            f"message #{seq} was written by someone else; only its author may change it"
        )


class NotEditable(StoreError):
    """A message that cannot change: already deleted, or not a chat message."""

    code = "not_editable"

    def __init__(self, seq: int, why: str) -> None:
        self.seq = seq
        super().__init__(f"message #{seq} cannot be changed: {why}")


@dataclass(frozen=True)
class Change:
    """A message after an edit or a delete, and the `edit_seq` that change took."""

    message: ConversationMessage
    edit_seq: int


async def _next_edit_seq(session: AsyncSession, conversation_id: str) -> int:
    value = await session.scalar(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(edit_seq=Conversation.edit_seq + 1)
        .returning(Conversation.edit_seq)
    )
    if value is None:
        raise NotFound("conversations", conversation_id)
    return int(value)


async def _own_message(
    session: AsyncSession, conversation_id: str, seq: int, user_id: str
) -> ConversationMessage:
    row = (
        await session.execute(
            select(ConversationMessage, ConversationParticipant)
            .outerjoin(
                ConversationParticipant,
                ConversationParticipant.id == ConversationMessage.author_participant_id,
            )
            .where(
                ConversationMessage.conversation_id == conversation_id,
                ConversationMessage.seq == seq,
            )
        )
    ).first()
    if row is None:
        raise NotFound("conversation_messages", f"{conversation_id}#{seq}", "seq")
    message, author = row
    if message.kind == MessageKind.SYSTEM.value:
        raise NotEditable(seq, "it is a system note")
    if author is None or author.kind != MemberKind.USER.value or author.user_id != user_id:
        raise NotAuthor(seq)
    return message


async def _editable(
    session: AsyncSession, conversation_id: str, seq: int, user_id: str
) -> ConversationMessage:
    message = await _own_message(session, conversation_id, seq, user_id)
    if message.deleted_at is not None:
        raise NotEditable(seq, "it was deleted")
    if message.type not in EDITABLE_TYPES:
        raise NotEditable(seq, f"it is a {message.type} message")
    return message


class MessageEdits:
    """Repository of message edits and deletes, and of their history."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def edit(self, conversation_id: str, seq: int, user_id: str, content: str) -> Change:
        """Replace the content of `user_id`'s message; the replaced text goes to the history.
        Editing to the same text changes nothing and takes no `edit_seq`."""
        async with self.db.session() as session:
            edit_seq = await _next_edit_seq(session, conversation_id)
            message = await _editable(session, conversation_id, seq, user_id)
            if message.content == content:
                await session.rollback()
                return Change(message, message.edit_seq or 0)
            session.add(
                MessageEdit(
                    message_id=message.id,
                    conversation_id=conversation_id,
                    edit_seq=edit_seq,
                    previous_content=message.content,
                    edited_by=user_id,
                )
            )
            now = utcnow()
            message.content = content
            message.edited_at = now
            message.updated_at = now
            message.updated_by = user_id
            message.edit_seq = edit_seq
            await session.flush()
            return Change(message, edit_seq)

    async def delete(self, conversation_id: str, seq: int, user_id: str) -> Change:
        """Tombstone `user_id`'s message: content, attachments and earlier versions go; the
        row keeps its seq, author and time, so the order stays gap-free."""
        async with self.db.session() as session:
            edit_seq = await _next_edit_seq(session, conversation_id)
            message = await _editable(session, conversation_id, seq, user_id)
            await session.execute(delete(MessageEdit).where(MessageEdit.message_id == message.id))
            now = utcnow()
            message.content = ""
            message.attachments = None
            message.deleted_at = now
            message.updated_at = now
            message.updated_by = user_id
            message.edit_seq = edit_seq
            await session.flush()
            return Change(message, edit_seq)

    async def history(self, conversation_id: str, seq: int, user_id: str) -> list[MessageEdit]:
        """The earlier versions of `user_id`'s message, oldest first: only the author reads
        them (an edit that took something back must not leave it readable to the room)."""
        async with self.db.read() as session:
            await _own_message(session, conversation_id, seq, user_id)
            return list(
                await session.scalars(
                    select(MessageEdit)
                    .join(ConversationMessage, ConversationMessage.id == MessageEdit.message_id)
                    .where(
                        ConversationMessage.conversation_id == conversation_id,
                        ConversationMessage.seq == seq,
                    )
                    .order_by(MessageEdit.edit_seq)
                )
            )

    async def changed(
        self, conversation_id: str, *, upto_seq: int, after_edit_seq: int, limit: int = MAX_CHANGES
    ) -> list[ConversationMessage]:
        """Messages up to `upto_seq` edited or deleted after `after_edit_seq`, in the order of
        their changes: what a client that already has those messages has not seen."""
        async with self.db.read() as session:
            return list(
                await session.scalars(
                    select(ConversationMessage)
                    .where(
                        ConversationMessage.conversation_id == conversation_id,
                        ConversationMessage.seq <= upto_seq,
                        ConversationMessage.edit_seq > after_edit_seq,
                    )
                    .order_by(ConversationMessage.edit_seq)
                    .limit(limit)
                )
            )

    async def last_edit_seq(self, conversation_id: str) -> int:
        async with self.db.read() as session:
            value = await session.scalar(
                select(Conversation.edit_seq).where(Conversation.id == conversation_id)
            )
        if value is None:
            raise NotFound("conversations", conversation_id)
        return int(value)
