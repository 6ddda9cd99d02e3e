"""Agent turns: one row per turn an agent takes, with status, fencing token and usage.

A turn left `running` by a process that died is failed by the next lease holder when it
claims the conversation (`store.triggers.claim_in`), so the transcript never shows a turn that
will not end. With a `fence`, a turn's start and its reply are written only while the writer's
fencing token is the conversation's (`store.triggers.check_fence_in`, same transaction).

`finish_with_reply` stores a turn's reply and ends the turn in one transaction: a turn is the
runtime's hot path, and every transaction is a round trip (on SQLite a write lock) of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from store import crud
from store.base import utcnow
from store.db import Database
from store.enums import TurnStatus
from store.errors import InvalidValue, NotFound, integrity_conflict
from store.messages import append_in
from store.models import AgentTurn, ConversationMessage
from store.triggers import STALE_ERROR, check_fence_in

FINAL_STATUSES = (TurnStatus.COMPLETED, TurnStatus.CANCELLED, TurnStatus.FAILED)
__all__ = ["STALE_ERROR", "Turns", "any_running_in", "fail_stale_in"]


class Turns:
    """Repository of `agent_turns`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def start(
        self,
        conversation_id: str,
        agent_id: str,
        *,
        trigger_seq: int | None = None,
        parent_turn_id: str | None = None,
        fencing_token: int | None = None,
        model: str | None = None,
        fence: int | None = None,
        also: Callable[[AsyncSession], Awaitable[Any]] | None = None,
    ) -> AgentTurn:
        """A new turn in status `running`.

        With `fence` (the writer's fencing token, stored as the turn's `fencing_token`) the turn
        is written only while the token is current, else `store.errors.Fenced`. `also(session)`
        runs in the same transaction (the runtime reads the day's usage for budgets there).
        """
        if fence is not None:
            fencing_token = fence
        turn = crud.build(
            AgentTurn,
            conversation_id=conversation_id,
            agent_id=agent_id,
            trigger_seq=trigger_seq,
            parent_turn_id=parent_turn_id,
            fencing_token=fencing_token,
            model=model,
            status=TurnStatus.RUNNING,
        )
        if fence is None and also is None:
            return await crud.insert(self.db, turn, name_reference=False)
        async with crud.writing(self.db, "agent_turns") as session:
            if fence is not None:
                await check_fence_in(session, conversation_id, fence)
            await crud.add(session, turn)
            if also is not None:
                await also(session)
        return turn

    async def finish(
        self,
        turn_id: str,
        status: str,
        *,
        message_seq: int | None = None,
        usage: dict[str, Any] | None = None,
        error: str | None = None,
        model: str | None = None,
    ) -> AgentTurn:
        """End a turn with a final status, the seq of its stored message and its token usage."""
        _check_final(status)
        usage = usage or {}
        async with self.db.session() as session:
            turn = await crud.fetch(session, AgentTurn, turn_id)
            crud.assign(
                turn,
                status=status,
                message_seq=message_seq,
                input_tokens=int(usage.get("input_tokens", 0) or 0),
                output_tokens=int(usage.get("output_tokens", 0) or 0),
                error=error,
                ended_at=utcnow(),
            )
            if model:
                turn.model = model
        return turn

    async def get(self, turn_id: str) -> AgentTurn:
        async with self.db.read() as session:
            return await crud.fetch(session, AgentTurn, turn_id)

    async def many(self, turn_ids: list[str]) -> list[AgentTurn]:
        """The turns among `turn_ids` that exist (any status)."""
        if not turn_ids:
            return []
        return await crud.scalars(self.db, select(AgentTurn).where(AgentTurn.id.in_(turn_ids)))

    async def running(self, conversation_id: str) -> list[AgentTurn]:
        """Turns of the conversation that have not ended, oldest first."""
        async with self.db.read() as session:
            rows = await session.scalars(
                select(AgentTurn)
                .where(
                    AgentTurn.conversation_id == conversation_id,
                    AgentTurn.status == TurnStatus.RUNNING.value,
                )
                .order_by(AgentTurn.id)
            )
            return list(rows)

    async def for_conversation(self, conversation_id: str) -> list[AgentTurn]:
        """Every turn of the conversation, oldest first."""
        async with self.db.read() as session:
            rows = await session.scalars(
                select(AgentTurn)
                .where(AgentTurn.conversation_id == conversation_id)
                .order_by(AgentTurn.id)
            )
            return list(rows)

    async def fail_stale(self, conversation_id: str, except_turn_id: str | None = None) -> int:
        """Fail turns still `running` that nobody runs any more; call it holding the lease.

        Returns how many turns were failed.
        """
        async with self.db.session() as session:
            return await fail_stale_in(session, conversation_id, except_turn_id)

    async def finish_with_reply(
        self,
        turn_id: str,
        status: str,
        *,
        conversation_id: str,
        content: str,
        author_participant_id: str | None,
        usage: dict[str, Any] | None = None,
        error: str | None = None,
        model: str | None = None,
        reply_fields: dict[str, Any] | None = None,
        also: Callable[[AsyncSession], Awaitable[Any]] | None = None,
        fence: int | None = None,
        answers: int = 0,
    ) -> ConversationMessage:
        """Store the turn's reply with the conversation's next `seq` and end the turn, in one
        transaction: the reply and the turn row commit together or not at all.

        The seq comes from `store.messages.append_in`, the same counter and statements as
        `Messages.append`, so the conversation's seq stays gap-free. `reply_fields` are more
        message columns (`status`, `meta`...). `also(session)` runs last in the same
        transaction, for a caller's write that belongs with the reply (the running summary).
        With `fence`, nothing is stored unless it is still the conversation's token
        (`store.errors.Fenced`): a holder that lost the lease cannot store its reply. The
        same statement marks the triggers up to `answers` (a seq) as answered by this reply.
        """
        _check_final(status)
        usage = usage or {}
        try:
            async with self.db.session() as session:
                message = await append_in(
                    session,
                    conversation_id,
                    content,
                    author_participant_id=author_participant_id,
                    turn_id=turn_id,
                    fence=fence,
                    answers=answers,
                    **(reply_fields or {}),
                )
                seq = message.seq
                values: dict[str, Any] = {
                    "status": status,
                    "message_seq": seq,
                    "input_tokens": int(usage.get("input_tokens", 0) or 0),
                    "output_tokens": int(usage.get("output_tokens", 0) or 0),
                    "error": error,
                    "ended_at": utcnow(),
                }
                if model:
                    values["model"] = model
                ended = await session.execute(
                    update(AgentTurn).where(AgentTurn.id == turn_id).values(**values)
                )
                if not ended.rowcount:
                    raise NotFound("agent_turns", turn_id)
                if also is not None:
                    await also(session)
            return message
        except IntegrityError as exc:
            raise integrity_conflict("conversation_messages", exc) from exc


def _check_final(status: str) -> None:
    if status not in FINAL_STATUSES:
        raise InvalidValue("agent_turns", "status", status, "one of " + ", ".join(FINAL_STATUSES))


async def any_running_in(session: AsyncSession, conversation_id: str) -> bool:
    """Whether some turn of the conversation is still `running` (read inside a caller's
    transaction, so that `fail_stale` needs a write transaction only when one is)."""
    found = await session.scalar(
        select(AgentTurn.id)
        .where(
            AgentTurn.conversation_id == conversation_id,
            AgentTurn.status == TurnStatus.RUNNING.value,
        )
        .limit(1)
    )
    return found is not None


async def fail_stale_in(
    session: AsyncSession, conversation_id: str, except_turn_id: str | None = None
) -> int:
    """`Turns.fail_stale` inside a caller's transaction (the runtime's trigger load)."""
    query = update(AgentTurn).where(
        AgentTurn.conversation_id == conversation_id,
        AgentTurn.status == TurnStatus.RUNNING.value,
    )
    if except_turn_id is not None:
        query = query.where(AgentTurn.id != except_turn_id)
    result = await session.execute(
        query.values(status=TurnStatus.FAILED.value, error=STALE_ERROR, ended_at=utcnow())
    )
    return int(result.rowcount or 0)
