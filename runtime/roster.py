"""Who is in a conversation, as the router sees it: the humans who post and the agents who can
be asked to speak, in participant order."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from store.db import Database
from store.enums import MemberKind, Role
from store.models import Agent, ConversationParticipant


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

    @property
    def speaks(self) -> bool:
        """Observers (agents brought in only for a delegated hand-off) are never routed to."""
        return self.role != Role.OBSERVER.value


@dataclass(frozen=True)
class Roster:
    """Active participants: posting humans (user ids) and agents, both in the order added."""

    humans: tuple[str, ...] = ()
    agents: tuple[Candidate, ...] = field(default_factory=tuple)

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
    )


async def load_roster(db: Database, conversation_id: str) -> Roster:
    """The conversation's active participants, read fresh so edits apply on the next turn."""
    async with db.session() as session:
        rows = await session.execute(
            select(ConversationParticipant, Agent)
            .outerjoin(Agent, Agent.id == ConversationParticipant.agent_id)
            .where(
                ConversationParticipant.conversation_id == conversation_id,
                ConversationParticipant.is_removed.is_(False),
            )
            .order_by(ConversationParticipant.added_at, ConversationParticipant.id)
        )
        humans: list[str] = []
        agents: list[Candidate] = []
        for participant, agent in rows:
            if participant.kind == MemberKind.AGENT.value and agent is not None:
                agents.append(candidate(agent, participant))
            elif participant.kind == MemberKind.USER.value and participant.role != Role.OBSERVER:
                humans.append(participant.user_id or "")
    return Roster(humans=tuple(humans), agents=tuple(agents))
