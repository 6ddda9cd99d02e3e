"""Stored messages and participants in their wire shape, with the names of their authors.

Replays (websocket `subscribe`, REST pages) read many messages at once, so authors are resolved
in two queries per page rather than one per message.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from runtime.wire import message_to_wire
from server.schemas.base import MAX_ATTACHMENTS_BYTES, MAX_ATTACHMENTS_DEPTH, json_problem
from server.turn_activity import calls_by_turn
from store.agents import Agents
from store.conversations import Conversations
from store.db import Database
from store.models import Agent, ConversationMessage, ConversationParticipant, User
from store.turns import Turns


async def names(
    db: Database, participants: list[ConversationParticipant]
) -> dict[str, dict[str, Any]]:
    """participant id -> {name, handle?} for users and agents alike."""
    user_ids = [p.user_id for p in participants if p.user_id]
    agent_ids = [p.agent_id for p in participants if p.agent_id]
    users: dict[str, str] = {}
    agents: dict[str, tuple[str, str]] = {}
    async with db.session() as session:
        if user_ids:
            rows = await session.execute(select(User.id, User.name).where(User.id.in_(user_ids)))
            users = {row.id: row.name for row in rows}
        if agent_ids:
            rows = await session.execute(
                select(Agent.id, Agent.name, Agent.handle).where(Agent.id.in_(agent_ids))
            )
            agents = {row.id: (row.name, row.handle) for row in rows}
    result: dict[str, dict[str, Any]] = {}
    for p in participants:
        if p.user_id:
            result[p.id] = {"name": users.get(p.user_id)}
        else:
            name, handle = agents.get(p.agent_id or "", (None, None))
            result[p.id] = {"name": name, "handle": handle}
    return result


class Transcript:
    """Wire shapes for one conversation; caches its participants for a replay."""

    def __init__(self, db: Database, conversation_id: str) -> None:
        self.db, self.conversation_id = db, conversation_id
        self._participants: dict[str, ConversationParticipant] | None = None
        self._names: dict[str, dict[str, Any]] = {}

    async def _load(self) -> None:
        rows = await Conversations(self.db).participants(self.conversation_id, include_removed=True)
        self._participants = {p.id: p for p in rows}
        self._names = await names(self.db, rows)

    async def messages(self, messages: list[ConversationMessage]) -> list[dict[str, Any]]:
        if self._participants is None or any(
            m.author_participant_id and m.author_participant_id not in self._participants
            for m in messages
        ):
            await self._load()
        assert self._participants is not None
        wire = []
        for m in messages:
            author = self._participants.get(m.author_participant_id or "")
            name = self._names.get(author.id, {}).get("name") if author else None
            wire.append(readable(message_to_wire(m, author, name)))
        await self._with_activity(wire)
        return wire

    # What agents did in their turns (see server.turn_activity) ----------------------------

    async def _with_activity(self, wire: list[dict[str, Any]]) -> None:
        """Each agent message gets its turn's `tool_calls`, and a delegated one `delegated_by`."""
        turn_ids = [m["turn_id"] for m in wire if m.get("turn_id")]
        if not turn_ids:
            return
        calls = await calls_by_turn(self.db, turn_ids)
        parents = {m["turn_id"]: _parent_turn(m) for m in wire if _parent_turn(m)}
        callers = await self._callers(sorted(set(parents.values())))
        for m in wire:
            if m.get("turn_id"):
                m["tool_calls"] = calls.get(m["turn_id"], [])
                m["delegated_by"] = callers.get(parents.get(m["turn_id"], ""))

    async def _callers(self, turn_ids: list[str]) -> dict[str, dict[str, Any]]:
        """parent turn id -> {turn_id, agent {id, name, handle}} of the agent that delegated."""
        turns = await Turns(self.db).many(turn_ids)
        by_agent = {p.agent_id: p.id for p in (self._participants or {}).values() if p.agent_id}
        callers = {}
        for turn in turns:
            label = self._names.get(by_agent.get(turn.agent_id or "", ""), {})
            callers[turn.id] = {
                "turn_id": turn.id,
                "agent": {
                    "id": turn.agent_id,
                    "name": label.get("name"),
                    "handle": label.get("handle"),
                },
            }
        return callers

    async def running_turns(self) -> list[dict[str, Any]]:
        """The turns under way, with their calls so far (a pending approval among them)."""
        turns = await Turns(self.db).running(self.conversation_id)
        agents = await Agents(self.db).get_many([t.agent_id for t in turns if t.agent_id])
        calls = await calls_by_turn(self.db, [t.id for t in turns])
        return [
            {
                "turn_id": t.id,
                "agent": _agent_brief(agents.get(t.agent_id or "")),
                "parent_turn_id": t.parent_turn_id,
                "started_at": t.created_at.isoformat() if t.created_at else None,
                "tool_calls": calls.get(t.id, []),
            }
            for t in turns
        ]


def _parent_turn(message: dict[str, Any]) -> str | None:
    meta = message.get("meta")
    parent = meta.get("parent_turn_id") if isinstance(meta, dict) else None
    return parent if isinstance(parent, str) else None


def _agent_brief(agent: Agent | None) -> dict[str, Any] | None:
    if agent is None:
        return None
    return {"id": agent.id, "name": agent.name, "handle": agent.handle}


def readable(message: dict[str, Any]) -> dict[str, Any]:
    """The message with stored attachments that no reader could serialize (nested or sized
    beyond today's limits, stored before they were checked) replaced by a notice, so one
    poisoned row cannot break the page or the replay it is in."""
    problem = json_problem(message["attachments"], MAX_ATTACHMENTS_DEPTH + 1, MAX_ATTACHMENTS_BYTES)
    if problem is None:
        return message
    notice = {"type": "unavailable", "reason": f"the stored attachments are {problem}"}
    return {**message, "attachments": [notice]}


def participant_to_wire(p: ConversationParticipant, label: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": p.id,
        "kind": p.kind,
        "user_id": p.user_id,
        "agent_id": p.agent_id,
        "role": p.role,
        "name": label.get("name"),
        "handle": label.get("handle"),
        "is_removed": p.is_removed,
        "added_at": p.added_at.isoformat() if p.added_at else None,
    }


async def participants_to_wire(
    db: Database, participants: list[ConversationParticipant]
) -> list[dict[str, Any]]:
    labels = await names(db, participants)
    return [participant_to_wire(p, labels.get(p.id, {})) for p in participants]
