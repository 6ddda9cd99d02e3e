"""Helpers shared by runtime tests: a conversation with people and agents, in a few lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from store.agents import Agents
from store.conversations import Conversations, NewParticipant
from store.db import Database
from store.messages import Messages
from store.models import Agent, AgentTurn, ConversationParticipant, User


async def make_user(db: Database, name: str) -> User:
    async with db.session() as session:
        user = User(name=name, email=f"{name.lower()}@example.com")
        session.add(user)
    return user


@dataclass
class Room:
    """A conversation and its participants by name (people) or handle (agents)."""

    db: Database
    conversation_id: str
    group_id: str | None
    users: dict[str, User]
    agents: dict[str, Agent]
    participants: dict[str, ConversationParticipant] = field(default_factory=dict)

    async def say(self, who: str, content: str, **fields: Any) -> int:
        """Append a message by a person (name) or an agent (handle); its seq."""
        appended = await Messages(self.db).append(
            self.conversation_id,
            content,
            author_participant_id=self.participants[who].id,
            **fields,
        )
        return appended.message.seq

    async def start_turn(self, handle: str) -> str:
        """An `agent_turns` row (tool calls are recorded against it); its id."""
        async with self.db.session() as session:
            turn = AgentTurn(conversation_id=self.conversation_id, agent_id=self.agents[handle].id)
            session.add(turn)
        return turn.id


async def make_room(
    db: Database,
    people: list[str],
    agents: list[dict[str, Any]],
    *,
    group_id: str | None = None,
) -> Room:
    """People (by name; the first creates the room) and agents (fields for `Agents.create`)."""
    users = {name: await make_user(db, name) for name in people}
    created = {}
    for fields in agents:
        agent = await Agents(db).create(**fields)
        created[agent.handle] = agent
    owner = users[people[0]]
    conversation = await Conversations(db).create(
        "Room",
        owner.id,
        group_id=group_id,
        participants=[NewParticipant(user_id=u.id) for u in users.values()]
        + [NewParticipant(agent_id=a.id) for a in created.values()],
    )
    room = Room(db, conversation.id, group_id, users, created)
    for participant in await Conversations(db).participants(conversation.id):
        if participant.user_id:
            name = next(n for n, u in users.items() if u.id == participant.user_id)
            room.participants[name] = participant
        else:
            handle = next(h for h, a in created.items() if a.id == participant.agent_id)
            room.participants[handle] = participant
    return room
