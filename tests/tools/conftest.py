"""Rows a tool call needs around it: people, a group, an agent, a conversation and a turn."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from store.conversations import Conversations, NewParticipant
from store.db import Database
from store.models import Agent, AgentTurn, Group, User
from tools.context import ToolContext


@dataclass(frozen=True)
class World:
    user_id: str
    other_user_id: str
    group_id: str
    agent_id: str
    conversation_id: str
    turn_id: str

    def context(self, **changes: object) -> ToolContext:
        fields = {
            "user_id": self.user_id,
            "conversation_id": self.conversation_id,
            "agent_id": self.agent_id,
            "group_id": self.group_id,
            "turn_id": self.turn_id,
            "message_seq": 1,
        }
        fields.update(changes)
        return ToolContext(**fields)  # type: ignore[arg-type]


async def make_agent(db: Database, handle: str, version: int = 1) -> str:
    async with db.session() as session:
        agent = Agent(name=handle.title(), handle=handle, version=version)
        session.add(agent)
    return agent.id


@pytest.fixture
async def world(db: Database) -> World:
    async with db.session() as session:
        ada = User(name="Ada", email="ada@example.com")
        bob = User(name="Bob", email="bob@example.com")
        session.add_all([ada, bob])
        await session.flush()
        group = Group(name="Team", owner_id=ada.id)
        session.add(group)
    agent_id = await make_agent(db, "helper")
    conversation = await Conversations(db).create(
        "Planning",
        ada.id,
        group_id=group.id,
        participants=[NewParticipant(user_id=bob.id), NewParticipant(agent_id=agent_id)],
    )
    async with db.session() as session:
        turn = AgentTurn(conversation_id=conversation.id, agent_id=agent_id)
        session.add(turn)
    return World(ada.id, bob.id, group.id, agent_id, conversation.id, turn.id)
