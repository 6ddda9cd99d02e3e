"""Appending and reading conversation messages: gap-free `seq`, idempotent sends.

The counter lives on the conversation row. Incrementing it with `UPDATE ... RETURNING` takes the
row lock (PostgreSQL) or the write lock (SQLite) for the rest of the transaction, so concurrent
appenders are serialised there, and a rolled-back append gives its number back: no gaps.

An append is the hottest write there is, so it is two Core statements in one transaction (no
ORM unit of work); on PostgreSQL the same two statements go straight to asyncpg
(store/messages_pg.py). The returned message is the ORM object built from the values it stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, case, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from store.base import UTCDateTime, utcnow
from store.db import Database
from store.errors import Fenced, InvalidValue, NotFound, integrity_conflict
from store.models import Conversation, ConversationMessage

MAX_PAGE = 500
# The largest seq a conversation can reach: `seq` and `last_seq` are 32-bit integers on every
# backend. Callers refuse an `after_seq` above it before it reaches SQL (PostgreSQL would fail
# on the bind, SQLite on 2**63).
MAX_SEQ = 2**31 - 1

_conversations = Conversation.__table__
_messages = ConversationMessage.__table__

_NEXT_SEQ = (
    update(_conversations)
    .where(_conversations.c.id == bindparam("conversation_id"))
    .values(
        last_seq=_conversations.c.last_seq + 1,
        last_message_time=bindparam("now", type_=UTCDateTime()),
    )
    .returning(_conversations.c.last_seq)
)
# The same, for a message that asks agents to answer: the trigger is recorded with the message.
_NEXT_TRIGGER_SEQ = _NEXT_SEQ.values(trigger_seq=_conversations.c.last_seq + 1)
# The same, only while the writer's fencing token is the conversation's (a turn's reply),
# marking the triggers up to `answers` as answered by it.
_NEXT_FENCED_SEQ = _NEXT_SEQ.where(_conversations.c.fence == bindparam("writer_fence")).values(
    handled_seq=case(
        (_conversations.c.handled_seq < bindparam("answers"), bindparam("answers")),
        else_=_conversations.c.handled_seq,
    )
)
_INSERT = insert(_messages)
_SENT = select(_messages.c.id).where(
    _messages.c.conversation_id == bindparam("conversation_id"),
    _messages.c.author_participant_id.is_(None),
    _messages.c.client_msg_id == bindparam("client_msg_id"),
)


@dataclass(frozen=True)
class Page:
    """A page of messages, and whether the table holds more after it."""

    messages: list[ConversationMessage]
    has_more: bool


@dataclass(frozen=True)
class Appended:
    """The stored message, and whether this call created it (False: an idempotent retry)."""

    message: ConversationMessage
    created: bool


class _AlreadySent(Exception):
    """A system message (no author) with this `client_msg_id` exists: roll back, return it."""


def _column_values(message: ConversationMessage) -> dict[str, Any]:
    """Every column's value: what the caller set, else the column's Python default.

    They are set on `message` too, so it needs no reload; `None`s are left out of the INSERT
    (SQL NULL, as the ORM stores an attribute it was never given, JSON columns included).
    """
    values: dict[str, Any] = {}
    for column in _messages.columns:
        value = message.__dict__.get(column.key)
        if value is None and column.default is not None:
            default = column.default
            value = default.arg(None) if default.is_callable else default.arg
        # Each set is an instrumented event: skip the ones the constructor already made.
        if column.key not in message.__dict__ or value is not message.__dict__[column.key]:
            setattr(message, column.key, value)
        if value is not None:
            values[column.key] = value
    return values


def _insert(
    connection: Connection, values: dict[str, Any], system_resend: bool, triggers: bool = False
) -> int:
    seq = connection.execute(
        _NEXT_TRIGGER_SEQ if triggers else _NEXT_SEQ,
        {"conversation_id": values["conversation_id"], "now": utcnow()},
    ).scalar_one_or_none()
    if seq is None:
        raise NotFound("conversations", values["conversation_id"])
    if system_resend:
        # The unique key cannot see a NULL author: check under the lock instead.
        params = {k: values[k] for k in ("conversation_id", "client_msg_id")}
        if connection.execute(_SENT, params).first() is not None:
            raise _AlreadySent
    connection.execute(_INSERT, {**values, "seq": seq})
    return seq


def _insert_fenced(connection: Connection, values: dict[str, Any], fence: int, answers: int) -> int:
    params = {
        "conversation_id": values["conversation_id"],
        "now": utcnow(),
        "writer_fence": fence,
        "answers": answers,
    }
    seq = connection.execute(_NEXT_FENCED_SEQ, params).scalar_one_or_none()
    if seq is None:
        raise Fenced(values["conversation_id"], fence)
    connection.execute(_INSERT, {**values, "seq": seq})
    return seq


async def append_in(
    session: AsyncSession,
    conversation_id: str,
    content: str,
    *,
    author_participant_id: str | None,
    fence: int | None = None,
    answers: int = 0,
    **fields: Any,
) -> ConversationMessage:
    """Append inside a caller's transaction, with the same counter and statements as
    `Messages.append`: for a write that must commit with the message (a turn's reply and the
    turn's end). No `client_msg_id` here: such writes are not resends.

    With `fence`, the seq is taken only while it is the conversation's fencing token, in the
    same statement (`Fenced` otherwise, and nothing is stored); that statement also marks the
    triggers up to `answers` as answered (`store.triggers`)."""
    message = ConversationMessage(
        conversation_id=conversation_id,
        content=content,
        author_participant_id=author_participant_id,
        **fields,
    )
    values = _column_values(message)
    connection = await session.connection()
    if fence is None:
        message.seq = await connection.run_sync(_insert, values, False)
    else:
        message.seq = await connection.run_sync(_insert_fenced, values, fence, answers)
    make_transient_to_detached(message)
    return message


async def _postgres_append(
    db: Database, values: dict[str, Any], system_resend: bool, triggers: bool
) -> int | None:
    # Imported here: asyncpg comes with the `postgres` extra, not with every install.
    from store import messages_pg

    return await messages_pg.append(db, values, system_resend, triggers)


def _driver_error_kind(db: Database, exc: Exception) -> str | None:
    """ "integrity" for a broken key or constraint, "data" for another error the database
    raised about the values, None for anything else (which is not ours to translate)."""
    if isinstance(exc, IntegrityError):
        return "integrity"
    if db.dialect != "postgresql":
        return None
    from store import messages_pg

    if isinstance(exc, messages_pg.INTEGRITY_ERRORS):
        return "integrity"
    return "data" if isinstance(exc, messages_pg.DATA_ERRORS) else None


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
        triggers: bool = False,
        **fields: Any,
    ) -> Appended:
        """Store a message with the next `seq` of its conversation, in one transaction.

        With a `client_msg_id`, a second call by the same author returns the first message:
        the unique key (conversation, author, client_msg_id) rejects the second insert, even
        when both race, and the rollback gives its `seq` back. Callers that expect resends
        check first (the runtime does), so a first send pays for no extra read here.

        `triggers`: the message asks agents to answer; the conversation's `trigger_seq` moves
        to it in the same transaction, so the answer it is owed survives a crash.
        """
        # Built first: the model's validators reject a bad value before any SQL is sent.
        message = ConversationMessage(
            conversation_id=conversation_id,
            content=content,
            author_participant_id=author_participant_id,
            client_msg_id=client_msg_id,
            **fields,
        )
        values = _column_values(message)
        system_resend = client_msg_id is not None and author_participant_id is None
        key = (conversation_id, author_participant_id, client_msg_id)
        try:
            if self.db.dialect == "postgresql":
                seq = await _postgres_append(self.db, values, system_resend, triggers)
                if seq is None:
                    raise _AlreadySent
                message.seq = seq
            else:
                async with self.db.engine.begin() as connection:
                    message.seq = await connection.run_sync(
                        _insert, values, system_resend, triggers
                    )
        except _AlreadySent:
            return await self._existing(*key)
        except Exception as exc:
            kind = _driver_error_kind(self.db, exc)
            if kind is None:
                raise
            if kind == "integrity" and client_msg_id is not None:
                existing = await self.by_client_msg_id(*key)
                if existing is not None:
                    return Appended(existing, created=False)
            if kind == "integrity":
                raise integrity_conflict("conversation_messages", exc) from exc
            raise InvalidValue(
                "conversation_messages", "row", None, f"values the columns accept ({exc})"
            ) from exc
        make_transient_to_detached(message)
        return Appended(message, created=True)

    async def _existing(
        self, conversation_id: str, author: str | None, client_msg_id: str
    ) -> Appended:
        existing = await self.by_client_msg_id(conversation_id, author, client_msg_id)
        if existing is None:
            raise NotFound("conversation_messages", client_msg_id, "client_msg_id")
        return Appended(existing, created=False)

    async def after(
        self, conversation_id: str, after_seq: int = 0, limit: int = 100
    ) -> list[ConversationMessage]:
        """Messages with `seq > after_seq`, oldest first, at most `limit` (capped)."""
        return await self._after(conversation_id, after_seq, max(1, min(limit, MAX_PAGE)))

    async def page(self, conversation_id: str, after_seq: int = 0, limit: int = 100) -> Page:
        """Up to `limit` (capped) messages after `after_seq`, and whether more follow.

        One row more than the page is read, so `has_more` is what the table holds: a guess from
        the page's length is wrong whenever the page is full and nothing follows, or the limit
        is the cap.
        """
        limit = max(1, min(limit, MAX_PAGE))
        rows = await self._after(conversation_id, after_seq, limit + 1)
        return Page(rows[:limit], has_more=len(rows) > limit)

    async def _after(
        self, conversation_id: str, after_seq: int, limit: int
    ) -> list[ConversationMessage]:
        if after_seq >= MAX_SEQ:
            return []  # no seq can follow it; and the value may not fit the column's type
        async with self.db.read() as session:
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
        async with self.db.read() as session:
            rows = await session.scalars(
                select(ConversationMessage)
                .where(ConversationMessage.conversation_id == conversation_id)
                .order_by(ConversationMessage.seq.desc())
                .limit(max(1, min(limit, MAX_PAGE)))
            )
            return list(reversed(list(rows)))

    async def get(self, conversation_id: str, seq: int) -> ConversationMessage:
        async with self.db.read() as session:
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
        async with self.db.read() as session:
            value = await session.scalar(
                select(Conversation.last_seq).where(Conversation.id == conversation_id)
            )
        if value is None:
            raise NotFound("conversations", conversation_id)
        return value

    async def by_client_msg_id(
        self, conversation_id: str, author: str | None, client_msg_id: str
    ) -> ConversationMessage | None:
        """The message an author already sent with this `client_msg_id`, if any."""
        async with self.db.read() as session:
            return await session.scalar(
                select(ConversationMessage).where(
                    ConversationMessage.conversation_id == conversation_id,
                    ConversationMessage.author_participant_id == author,
                    ConversationMessage.client_msg_id == client_msg_id,
                )
            )
