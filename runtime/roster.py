"""Who is in a conversation, as the router sees it: the humans who post and the agents who can
be asked to speak, in participant order.

A roster is read once per trigger, in the trigger's first transaction, and carries the rows a
turn needs (agent rows with their `version`, their delegates, participant rows, people's names)
so that turns do not read them again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.db import Database
from store.enums import MemberKind, Role
from store.models import Agent, ConversationParticipant, User


@dataclass(frozen=True)
class Candidate:
    """An agent participant: what routing, turns and delegation need to know about it."""

    agent_id: str
    participant_id: str
    handle: str
    name: str
    description: str = ""
    model: str | None = None
    delegates_to: tuple[str, ...] = ()
    role: str = Role.MEMBER.value
    version: int = 0
    # The rows it was read from, so a turn need not read them again.
    agent: Agent | None = field(default=None, compare=False, repr=False)
    participant: ConversationParticipant | None = field(default=None, compare=False, repr=False)

    @property
    def speaks(self) -> bool:
        """Observers (agents brought in only for a delegated hand-off) are never routed to."""
        return self.role != Role.OBSERVER.value


@dataclass(frozen=True)
class Person:
    """A human participant (observers included), with the name agents are told."""

    user_id: str
    name: str
    role: str = Role.MEMBER.value


@dataclass(frozen=True)
class Roster:
    """Active participants: posting humans (user ids) and agents, both in the order added."""

    humans: tuple[str, ...] = ()
    agents: tuple[Candidate, ...] = field(default_factory=tuple)
    people: tuple[Person, ...] = ()
    # Agent rows by id: the roster's agents and the agents they may delegate to.
    known: Mapping[str, Agent] = field(default_factory=dict, compare=False, repr=False)

    @property
    def speakers(self) -> list[Candidate]:
        return [agent for agent in self.agents if agent.speaks]

    def by_handle(self, handle: str) -> Candidate | None:
        wanted = handle.lower()
        return next((a for a in self.agents if a.handle.lower() == wanted), None)

    def by_agent_id(self, agent_id: str) -> Candidate | None:
        return next((a for a in self.agents if a.agent_id == agent_id), None)

    def by_participant_id(self, participant_id: str) -> Candidate | None:
        return next((a for a in self.agents if a.participant_id == participant_id), None)


def candidate(agent: Agent, participant: ConversationParticipant) -> Candidate:
    return Candidate(
        agent_id=agent.id,
        participant_id=participant.id,
        handle=agent.handle,
        name=agent.name,
        description=agent.description or agent.goal or "",
        model=agent.model,
        delegates_to=tuple(str(d) for d in agent.delegates_to or ()),
        role=participant.role,
        version=agent.version,
        agent=agent,
        participant=participant,
    )


async def load_roster(db: Database, conversation_id: str) -> Roster:
    """The conversation's active participants, read fresh so edits apply on the next turn."""
    async with db.read() as session:
        return await roster_in(session, conversation_id)


async def roster_in(session: AsyncSession, conversation_id: str) -> Roster:
    """`load_roster` inside a caller's transaction: one query for the participants with their
    agent rows and names, and one more only when some agent has delegates outside the room."""
    rows = await session.execute(
        select(ConversationParticipant, Agent, User.name)
        .outerjoin(Agent, Agent.id == ConversationParticipant.agent_id)
        .outerjoin(User, User.id == ConversationParticipant.user_id)
        .where(
            ConversationParticipant.conversation_id == conversation_id,
            ConversationParticipant.is_removed.is_(False),
        )
        .order_by(ConversationParticipant.added_at, ConversationParticipant.id)
    )
    humans: list[str] = []
    people: list[Person] = []
    agents: list[Candidate] = []
    known: dict[str, Agent] = {}
    for participant, agent, user_name in rows:
        if participant.kind == MemberKind.AGENT.value and agent is not None:
            agents.append(candidate(agent, participant))
            known[agent.id] = agent
        elif participant.kind == MemberKind.USER.value and participant.user_id is not None:
            people.append(Person(participant.user_id, user_name or "someone", participant.role))
            if participant.role != Role.OBSERVER:
                humans.append(participant.user_id)
    wanted = {d for a in agents for d in a.delegates_to if d not in known}
    if wanted:
        known.update(
            (row.id, row)
            for row in await session.scalars(select(Agent).where(Agent.id.in_(wanted)))
        )
    return Roster(humans=tuple(humans), agents=tuple(agents), people=tuple(people), known=known)
