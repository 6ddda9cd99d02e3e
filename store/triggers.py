"""Durable triggers and fencing: which messages are still owed an answer, and who may write.

A message that asks agents to answer moves its conversation's `trigger_seq` in its own
transaction (`Messages.append(triggers=True)`); the first reply stored for it moves
`handled_seq` in the reply's own statement (`Turns.finish_with_reply(answers=...)`), as does
the decision that nobody answers it (`Triggers.handled`). Every such message between the two
is owed an answer, whatever happened to the process that stored it.

The conversation's `fence` is the fencing token of its lease: a process that is granted the
lease claims the conversation (`claim_in`), which takes the next token, fails the turns a
previous holder left running (their message, never answered, is still owed and runs again),
and reads what is owed. Its turn and reply writes then require
the token unchanged in their own transaction (`check_fence_in`), so a holder that lost the
lease to a newer one cannot store anything, however late it wakes up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.base import utcnow
from store.db import Database
from store.enums import MemberKind, MessageKind, TurnStatus
from store.errors import Fenced, NotFound
from store.messages import append_in
from store.models import Agent, AgentTurn, Conversation, ConversationMessage
from store.models import ConversationParticipant as Participant

__all__ = ["STALE_ERROR", "Claim", "Fenced", "Owed", "StaleTurn", "Triggers", "claim_in"]

STALE_ERROR = "the process running this turn stopped before it ended"
# Owed triggers read per claim; a claim that leaves some behind is followed by another.
PENDING_LIMIT = 100
# How far back a note about an unrouted message is looked for (see `hinted_since_reply`).
NOTE_SCAN = 100

_conversations = Conversation.__table__
_turns = AgentTurn.__table__


@dataclass(frozen=True)
class Owed:
    """A stored message that has not been answered yet."""

    seq: int
    user_id: str | None
    content: str
    # A `regenerate` message (store/regenerations.py) asks for another version of a reply.
    type: str | None = None
    meta: dict[str, Any] | None = None


@dataclass(frozen=True)
class StaleTurn:
    """A turn a previous lease holder left running, failed by the claim."""

    id: str
    parent_turn_id: str | None
    agent_id: str | None


@dataclass(frozen=True)
class Claim:
    """What a new lease holder finds: its fencing token, the turns it failed, what is owed,
    and the conversation row itself (read by the same statement that took the token)."""

    fence: int
    stale: list[StaleTurn]
    owed: list[Owed]
    conversation: Conversation


async def claim_in(session: AsyncSession, conversation_id: str) -> Claim:
    """Take the next fencing token, fail the turns left running, read the owed triggers.

    Call it in a write transaction, holding the conversation's lease.
    """
    conversation = await session.scalar(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(fence=Conversation.fence + 1)
        .returning(Conversation)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    if conversation is None:
        raise NotFound("conversations", conversation_id)
    fence, handled, latest = conversation.fence, conversation.handled_seq, conversation.trigger_seq
    stale = await session.execute(
        update(_turns)
        .where(
            _turns.c.conversation_id == conversation_id,
            _turns.c.status == TurnStatus.RUNNING.value,
        )
        .values(status=TurnStatus.FAILED.value, error=STALE_ERROR, ended_at=utcnow())
        .returning(_turns.c.id, _turns.c.parent_turn_id, _turns.c.agent_id)
    )
    failed = [StaleTurn(*turn) for turn in stale]
    owed = await _owed(session, conversation_id, handled, latest) if latest > handled else []
    return Claim(fence, sorted(failed, key=lambda t: t.id), owed, conversation)


async def _owed(session: AsyncSession, conversation_id: str, after: int, upto: int) -> list[Owed]:
    rows = await session.execute(
        select(
            ConversationMessage.seq,
            Participant.user_id,
            ConversationMessage.content,
            ConversationMessage.type,
            ConversationMessage.meta,
        )
        .join(Participant, Participant.id == ConversationMessage.author_participant_id)
        .where(
            ConversationMessage.conversation_id == conversation_id,
            ConversationMessage.seq > after,
            ConversationMessage.seq <= upto,
            ConversationMessage.kind == MessageKind.PARTICIPANT.value,
            Participant.kind == MemberKind.USER.value,
        )
        .order_by(ConversationMessage.seq)
        .limit(PENDING_LIMIT)
    )
    return [Owed(*row) for row in rows]


async def check_fence_in(
    session: AsyncSession, conversation_id: str, fence: int, *, handles_seq: int | None = None
) -> None:
    """Raise `Fenced` unless `fence` is still the conversation's token; in the same statement
    (and so the caller's transaction) mark the triggers up to `handles_seq` as answered."""
    values: dict[str, Any] = {"fence": fence}
    if handles_seq is not None:
        handled = _conversations.c.handled_seq
        values["handled_seq"] = case((handled < handles_seq, handles_seq), else_=handled)
    result = await session.execute(
        update(_conversations)
        .where(_conversations.c.id == conversation_id, _conversations.c.fence == fence)
        .values(**values)
    )
    if not result.rowcount:
        raise Fenced(conversation_id, fence)


class Triggers:
    """The runtime's side of durable triggers: claims, answered marks and recovery scans."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(self, conversation_id: str) -> Claim:
        async with self.db.session() as session:
            return await claim_in(session, conversation_id)

    async def handled(
        self,
        conversation_id: str,
        seq: int,
        fence: int,
        note: tuple[str, dict[str, Any]] | None = None,
    ) -> ConversationMessage | None:
        """Mark the triggers up to `seq` answered without a turn (nobody was to answer), with
        the system note that says so, in one fenced transaction; the note, if any."""
        async with self.db.session() as session:
            await check_fence_in(session, conversation_id, fence, handles_seq=seq)
            if note is None:
                return None
            content, meta = note
            return await append_in(
                session,
                conversation_id,
                content,
                author_participant_id=None,
                kind=MessageKind.SYSTEM,
                type="system",
                meta=meta,
            )

    async def needing_attention(self, limit: int = 500) -> dict[str, tuple[Any, ...]]:
        """Conversations owed an answer or with a turn still `running`: after a crash, the
        ones a surviving or restarted process must claim. Each comes with what it is owed and
        which turns run (so a caller can tell a conversation that is moving from a stuck one)."""
        owed = (
            select(Conversation.id, Conversation.trigger_seq, Conversation.handled_seq)
            .where(Conversation.trigger_seq > Conversation.handled_seq)
            .limit(limit)
        )
        running = (
            select(AgentTurn.conversation_id, AgentTurn.id)
            .where(AgentTurn.status == TurnStatus.RUNNING.value)
            .order_by(AgentTurn.id)
            .limit(limit)
        )
        found: dict[str, tuple[Any, ...]] = {}
        async with self.db.read() as session:
            for conversation_id, latest, handled in await session.execute(owed):
                found[conversation_id] = (latest, handled)
            for conversation_id, turn_id in await session.execute(running):
                found[conversation_id] = (*found.get(conversation_id, ()), turn_id)
        return found

    async def existing_handles(self, handles: list[str]) -> set[str]:
        """Which of these lower-cased handles name an agent."""
        if not handles:
            return set()
        async with self.db.read() as session:
            rows = await session.scalars(
                select(func.lower(Agent.handle)).where(func.lower(Agent.handle).in_(handles))
            )
            return set(rows)

    async def hinted_since_reply(
        self, conversation_id: str, last_seq: int, agent_participant_ids: list[str]
    ) -> bool:
        """Whether an unrouted-message note was posted after the last agent reply, so that a
        room where people talk among themselves gets that note once, not under every line."""
        async with self.db.read() as session:
            latest = await session.scalar(
                select(ConversationMessage.meta)
                .where(
                    ConversationMessage.conversation_id == conversation_id,
                    ConversationMessage.seq > last_seq - NOTE_SCAN,
                    (ConversationMessage.kind == MessageKind.SYSTEM.value)
                    | ConversationMessage.author_participant_id.in_(agent_participant_ids),
                )
                .order_by(ConversationMessage.seq.desc())
                .limit(1)
            )
        return isinstance(latest, dict) and "unrouted" in latest
