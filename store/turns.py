"""Agent turns: one row per turn an agent takes, with status, fencing token and usage.

A turn left `running` by a process that died is failed by the next lease holder
(`fail_stale`), so the transcript never shows a turn that will not end.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from store.base import utcnow
from store.db import Database
from store.enums import TurnStatus
from store.errors import InvalidValue, NotFound
from store.models import AgentTurn

FINAL_STATUSES = (TurnStatus.COMPLETED, TurnStatus.CANCELLED, TurnStatus.FAILED)
STALE_ERROR = "the process running this turn stopped before it ended"


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
    ) -> AgentTurn:
        """A new turn in status `running`."""
        async with self.db.session() as session:
            turn = AgentTurn(
                conversation_id=conversation_id,
                agent_id=agent_id,
                trigger_seq=trigger_seq,
                parent_turn_id=parent_turn_id,
                fencing_token=fencing_token,
                model=model,
                status=TurnStatus.RUNNING,
            )
            session.add(turn)
            await session.flush()
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
        if status not in FINAL_STATUSES:
            raise InvalidValue(
                "agent_turns", "status", status, "one of " + ", ".join(FINAL_STATUSES)
            )
        usage = usage or {}
        async with self.db.session() as session:
            turn = await session.get(AgentTurn, turn_id)
            if turn is None:
                raise NotFound("agent_turns", turn_id)
            turn.status = status
            turn.message_seq = message_seq
            turn.input_tokens = int(usage.get("input_tokens", 0) or 0)
            turn.output_tokens = int(usage.get("output_tokens", 0) or 0)
            turn.error = error
            turn.ended_at = utcnow()
            if model:
                turn.model = model
        return turn

    async def get(self, turn_id: str) -> AgentTurn:
        async with self.db.session() as session:
            turn = await session.get(AgentTurn, turn_id)
        if turn is None:
            raise NotFound("agent_turns", turn_id)
        return turn

    async def running(self, conversation_id: str) -> list[AgentTurn]:
        """Turns of the conversation that have not ended, oldest first."""
        async with self.db.session() as session:
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
        async with self.db.session() as session:
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
        query = update(AgentTurn).where(
            AgentTurn.conversation_id == conversation_id,
            AgentTurn.status == TurnStatus.RUNNING.value,
        )
        if except_turn_id is not None:
            query = query.where(AgentTurn.id != except_turn_id)
        async with self.db.session() as session:
            result = await session.execute(
                query.values(status=TurnStatus.FAILED.value, error=STALE_ERROR, ended_at=utcnow())
            )
            return int(result.rowcount or 0)
