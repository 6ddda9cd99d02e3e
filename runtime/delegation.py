"""Hand-offs between agents: the `delegate(handle, task)` callback a turn is given.

An agent may hand work only to the agents listed (by id) in its `delegates_to`; the chain of
hand-offs is bounded by `settings.max_delegation_depth` and may not revisit an agent. A refusal
raises `DelegationRefused`, which the agent's tool call reports as a tool error: the caller's
turn goes on. An accepted hand-off runs the target as a nested turn with its own stored message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import func, select

from runtime.errors import DelegationRefused
from runtime.roster import Candidate
from runtime.settings import Settings
from store.db import Database
from store.models import Agent

RunNested = Callable[[Agent, str, "Delegation"], Awaitable[str]]


@dataclass
class Delegation:
    """The delegate callback of one turn: `await delegation(handle, task)` -> the answer text."""

    db: Database
    settings: Settings
    conversation_id: str
    turn_id: str
    caller: Candidate
    depth: int
    chain: tuple[str, ...]
    run_nested: RunNested
    # Agent rows the trigger already read (its roster's agents and their delegates).
    known: Mapping[str, Agent] = field(default_factory=dict)

    async def __call__(self, handle: str, task: str) -> str:
        target = await self.find(handle)
        self.check(target)
        return await self.run_nested(target, task, self)

    @property
    def child_depth(self) -> int:
        return self.depth + 1

    @property
    def child_chain(self) -> tuple[str, ...]:
        return (*self.chain, self.caller.agent_id)

    async def find(self, handle: str) -> Agent:
        wanted = handle.strip().lstrip("@").lower()
        for agent in self.known.values():
            if agent.handle.lower() == wanted:
                return agent
        async with self.db.read() as session:
            agent = await session.scalar(select(Agent).where(func.lower(Agent.handle) == wanted))
        if agent is None:
            raise self.refused(f"there is no agent @{wanted}")
        return agent

    def check(self, target: Agent) -> None:
        """Refuse a hand-off outside `delegates_to`, past the depth bound, or into a cycle."""
        if target.id not in self.caller.delegates_to:
            raise self.refused(
                f"@{self.caller.handle} may not delegate to @{target.handle}: "
                "it is not in its delegates_to",
                target,
            )
        if target.id in self.child_chain:
            raise self.refused(
                f"@{target.handle} is already working on this request (delegation cycle)", target
            )
        if self.child_depth > self.settings.max_delegation_depth:
            raise self.refused(
                f"delegation depth {self.child_depth} exceeds the limit of "
                f"{self.settings.max_delegation_depth}",
                target,
            )

    def refused(self, message: str, target: Agent | None = None) -> DelegationRefused:
        return DelegationRefused(
            f"delegation refused: {message}",
            conversation_id=self.conversation_id,
            turn_id=self.turn_id,
            agent_id=target.id if target is not None else None,
        )
