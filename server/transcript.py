"""Stored messages and participants in their wire shape, with the names of their authors.

Replays (websocket `subscribe`, REST pages) read many messages at once, so authors are resolved
in two queries per page rather than one per message.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from runtime.wire import message_to_wire
from server.schemas.base import MAX_ATTACHMENTS_BYTES, MAX_ATTACHMENTS_DEPTH, json_problem
from store.conversations import Conversations
from store.db import Database
from store.models import Agent, ConversationMessage, ConversationParticipant, User


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
        return wire


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
