"""Tools, their grants to agents, and the record of every tool call.

Granting, re-configuring or revoking a tool bumps the agent's `version`: compiled graphs are
cached by it and must see the change on the next turn. A tool call's row is written when the
call starts and completed when it ends; an approval decision is written to the same row, which
is how a decision made in one process reaches a call waiting in another.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from store import crud
from store.base import utcnow
from store.db import Database
from store.enums import ToolCallStatus
from store.errors import Conflict, NotFound
from store.models import Agent, AgentTool, Tool, ToolCall

DECIDED = (ToolCallStatus.APPROVED.value, ToolCallStatus.DENIED.value)


class Describable(Protocol):
    """What `sync` needs of a registered tool (the tools package's `ToolSpec` has it)."""

    name: str
    description: str
    parameters: dict[str, Any]


class Tools:
    """Repository of `tools`, `agent_tools` and `tool_calls`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # Tools -----------------------------------------------------------------------------

    async def upsert(
        self,
        name: str,
        *,
        description: str = "",
        parameters: dict[str, Any] | None = None,
        config: dict[str, Any] | None = None,
    ) -> Tool:
        """Create the tool named `name`, or refresh its description and schema (and `config`,
        where a tool from elsewhere than Python, such as an MCP server, records its source)."""
        try:
            async with self.db.session() as session:
                return await self._upsert(session, name, description, parameters or {}, config)
        except IntegrityError:
            pass  # Two processes syncing at start-up: the loser updates the winner's row.
        async with crud.writing(self.db, "tools") as session:
            return await self._upsert(session, name, description, parameters or {}, config)

    async def sync(self, specs: Iterable[Describable]) -> list[Tool]:
        """Upsert every registered tool by name (the server does this at start-up)."""
        rows = []
        for spec in specs:
            rows.append(
                await self.upsert(
                    spec.name, description=spec.description, parameters=spec.parameters
                )
            )
        return rows

    async def list(self) -> list[Tool]:
        return await crud.scalars(self.db, select(Tool).order_by(Tool.name))

    async def get(self, tool_id: str) -> Tool:
        return await crud.get(self.db, Tool, tool_id)

    async def get_by_name(self, name: str) -> Tool:
        row = await crud.first(self.db, select(Tool).where(Tool.name == name))
        if row is None:
            raise NotFound("tools", name, "name")
        return row

    async def set_config(self, tool_id: str, config: dict[str, Any]) -> Tool:
        """Replace a tool row's `config` (an MCP tool marked unavailable, say)."""
        async with self.db.session() as session:
            row = await crud.fetch(session, Tool, tool_id)
            crud.assign(row, config=config, updated_at=utcnow())
        return row

    async def bump_agents_granted(self, tool_ids: list[str]) -> int:
        """Bump the version of every agent granted one of `tool_ids`, so compiled graphs see
        a tool that appeared, changed or went away; returns how many agents changed."""
        if not tool_ids:
            return 0
        async with self.db.session() as session:
            granted = select(AgentTool.agent_id).where(AgentTool.tool_id.in_(tool_ids))
            changed = await session.execute(
                update(Agent)
                .where(Agent.id.in_(granted))
                .values(version=Agent.version + 1, updated_at=utcnow())
            )
        return int(changed.rowcount or 0)  # type: ignore[attr-defined]

    # Grants ----------------------------------------------------------------------------

    async def grant(
        self,
        agent_id: str,
        tool_id: str,
        config: dict[str, Any] | None = None,
        *,
        created_by: str | None = None,
    ) -> AgentTool:
        """Let the agent call the tool with `config`; Conflict if it is already granted."""
        try:
            async with self.db.session() as session:
                await crud.fetch(session, Agent, agent_id)
                await crud.fetch(session, Tool, tool_id)
                row = crud.build(
                    AgentTool,
                    agent_id=agent_id,
                    tool_id=tool_id,
                    config=config or {},
                    created_by=created_by,
                    updated_by=created_by,
                    updated_at=utcnow(),
                )
                await crud.add(session, row)
                await self._bump(session, agent_id)
            return row
        except IntegrityError as exc:
            raise Conflict(
                "agent_tools", f"tool {tool_id} is already granted to agent {agent_id}"
            ) from exc

    async def update_grant(
        self,
        agent_id: str,
        tool_id: str,
        config: dict[str, Any],
        *,
        updated_by: str | None = None,
    ) -> AgentTool:
        """Replace a grant's configuration."""
        async with self.db.session() as session:
            row = await self._grant_row(session, agent_id, tool_id)
            crud.assign(row, config=config, updated_by=updated_by, updated_at=utcnow())
            await self._bump(session, agent_id)
        return row

    async def revoke(self, agent_id: str, tool_id: str) -> None:
        async with self.db.session() as session:
            row = await self._grant_row(session, agent_id, tool_id)
            await session.delete(row)
            await self._bump(session, agent_id)

    async def grant_for(self, agent_id: str, tool_id: str) -> AgentTool:
        async with self.db.session() as session:
            return await self._grant_row(session, agent_id, tool_id)

    async def grants_for_agent(self, agent_id: str) -> list[tuple[Tool, AgentTool]]:
        """The agent's tools with their grants, by tool name."""
        async with self.db.session() as session:
            result = await session.execute(
                select(Tool, AgentTool)
                .join(AgentTool, AgentTool.tool_id == Tool.id)
                .where(AgentTool.agent_id == agent_id)
                .order_by(Tool.name)
            )
            return [(tool, grant) for tool, grant in result.all()]

    # Tool calls ------------------------------------------------------------------------

    async def start_call(
        self,
        tool_name: str,
        *,
        status: str,
        arguments: dict[str, Any] | None = None,
        call_id: str | None = None,
        turn_id: str | None = None,
        conversation_id: str | None = None,
        agent_id: str | None = None,
    ) -> ToolCall:
        """Record a call as it starts: `approved` (cleared to run) or `pending_approval`."""
        row = crud.build(
            ToolCall,
            tool_name=tool_name,
            status=status,
            arguments=arguments,
            call_id=call_id,
            turn_id=turn_id,
            conversation_id=conversation_id,
            agent_id=agent_id,
        )
        return await crud.insert(self.db, row, name_reference=False)

    async def finish_call(
        self,
        tool_call_id: str,
        *,
        status: str,
        result: Any = None,
        error: str | None = None,
        duration_ms: float | None = None,
    ) -> ToolCall:
        """Record how a call ended."""
        async with self.db.session() as session:
            row = await crud.fetch(session, ToolCall, tool_call_id)
            crud.assign(row, status=status, result=result, error=error, duration_ms=duration_ms)
        return row

    async def record_call(self, tool_name: str, *, status: str, **fields: Any) -> ToolCall:
        """Record a call that never ran (refused, invalid) in one write."""
        keys = ("result", "error", "duration_ms")
        ended = {k: fields.pop(k) for k in keys if k in fields}
        row = ToolCall(tool_name=tool_name, status=status, **fields, **ended)
        return await crud.insert(self.db, row, name_reference=False)

    async def set_decision(
        self, tool_call_id: str, approved: bool, user_id: str | None
    ) -> ToolCall:
        """Approve or deny a call waiting for approval; Conflict if it is not waiting."""
        status = ToolCallStatus.APPROVED if approved else ToolCallStatus.DENIED
        async with self.db.session() as session:
            changed = await session.execute(
                update(ToolCall)
                .where(
                    ToolCall.id == tool_call_id,
                    ToolCall.status == ToolCallStatus.PENDING_APPROVAL.value,
                )
                .values(status=status.value, decided_by=user_id, decided_at=utcnow())
            )
            row = await crud.fetch(session, ToolCall, tool_call_id)
            if changed.rowcount == 0:  # type: ignore[attr-defined]
                raise Conflict(
                    "tool_calls",
                    f"tool call {tool_call_id} is {row.status}, not waiting for approval",
                )
            await session.refresh(row)
        return row

    async def expire_approval(self, tool_call_id: str, error: str) -> bool:
        """Close a call still waiting for approval as timed out; False if a decision came first."""
        async with self.db.session() as session:
            changed = await session.execute(
                update(ToolCall)
                .where(
                    ToolCall.id == tool_call_id,
                    ToolCall.status == ToolCallStatus.PENDING_APPROVAL.value,
                )
                .values(status=ToolCallStatus.TIMEOUT.value, error=error)
            )
        return bool(changed.rowcount)  # type: ignore[attr-defined]

    async def get_call(self, tool_call_id: str) -> ToolCall:
        return await crud.get(self.db, ToolCall, tool_call_id)

    async def call_status(self, tool_call_id: str) -> str:
        """Just the status: what an approval waiter polls."""
        status = await crud.first(
            self.db, select(ToolCall.status).where(ToolCall.id == tool_call_id)
        )
        if status is None:
            raise NotFound("tool_calls", tool_call_id)
        return status

    async def calls_for_turn(self, turn_id: str) -> list[ToolCall]:
        query = select(ToolCall).where(ToolCall.turn_id == turn_id).order_by(ToolCall.id)
        return await crud.scalars(self.db, query)

    async def calls_for_turns(self, turn_ids: list[str]) -> list[ToolCall]:
        """The calls of several turns, oldest first: what a transcript page shows under replies."""
        if not turn_ids:
            return []
        query = select(ToolCall).where(ToolCall.turn_id.in_(turn_ids)).order_by(ToolCall.id)
        return await crud.scalars(self.db, query)

    async def calls_for_conversation(
        self, conversation_id: str, *, status: str | None = None
    ) -> list[ToolCall]:
        """A conversation's calls, oldest first; `status="pending_approval"` for the open ones."""
        query = select(ToolCall).where(ToolCall.conversation_id == conversation_id)
        if status is not None:
            query = query.where(ToolCall.status == status)
        return await crud.scalars(self.db, query.order_by(ToolCall.id))

    # Helpers ---------------------------------------------------------------------------

    async def _upsert(
        self,
        session: AsyncSession,
        name: str,
        description: str,
        parameters: dict[str, Any],
        config: dict[str, Any] | None = None,
    ) -> Tool:
        row = await session.scalar(select(Tool).where(Tool.name == name))
        if row is None:
            new = crud.build(
                Tool, name=name, description=description, parameters=parameters, config=config
            )
            return await crud.add(session, new)
        if row.description != description or row.parameters != parameters:
            crud.assign(row, description=description, parameters=parameters, updated_at=utcnow())
        if config is not None and row.config != config:
            crud.assign(row, config=config, updated_at=utcnow())
        return row

    async def _grant_row(self, session: AsyncSession, agent_id: str, tool_id: str) -> AgentTool:
        row = await session.scalar(
            select(AgentTool).where(AgentTool.agent_id == agent_id, AgentTool.tool_id == tool_id)
        )
        if row is None:
            raise NotFound("agent_tools", f"{agent_id}/{tool_id}", "agent_id/tool_id")
        return row

    async def _bump(self, session: AsyncSession, agent_id: str) -> None:
        await session.execute(
            update(Agent)
            .where(Agent.id == agent_id)
            .values(version=Agent.version + 1, updated_at=utcnow())
        )
