"""The built-in agents, as data: a general assistant, a researcher and a writer.

`ensure_builtin_agents(db)` inserts them, or brings them back to this definition, by handle; it
changes a row (and so its `version`) only when the definition differs, so running it at every
start-up is cheap and keeps compiled graphs cached. They are granted the memory tools
(`remember`, `recall`) when those tools are in the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from store.agents import Agents
from store.db import Database
from store.enums import AgentKind
from store.errors import NotFound
from store.models import Agent
from store.tools import Tools

MEMORY_TOOLS = ("remember", "recall")


@dataclass(frozen=True)
class BuiltinAgent:
    """One built-in agent; `delegates` are handles of other built-ins."""

    handle: str
    name: str
    description: str
    goal: str
    personality: str
    instructions: str
    delegates: tuple[str, ...] = ()
    knowledge: dict[str, Any] = field(default_factory=dict)


BUILTINS = (
    BuiltinAgent(
        handle="assistant",
        name="Assistant",
        description="A general helper: answers questions and hands research or writing on.",
        goal="Help the people in the conversation get what they came for, quickly.",
        personality="Friendly, direct and honest about what it does not know.",
        instructions=(
            "Answer directly when you can. For questions that need facts gathered and checked, "
            "delegate to @researcher; for polished copy (posts, emails, pages), delegate to "
            "@writer, then present their answer. Remember lasting preferences people tell "
            "you with the remember tool, and recall them when they matter."
        ),
        delegates=("researcher", "writer"),
    ),
    BuiltinAgent(
        handle="researcher",
        name="Researcher",
        description="Finds, checks and summarises facts, markets, competitors and sources.",
        goal="Give accurate, sourced answers and say how sure they are.",
        personality="Careful, precise and brief; separates facts from guesses.",
        instructions=(
            "Break the question down, list what is known and what is assumed, and answer "
            "with short bullet points. Say where each fact comes from, and flag anything "
            "that should be verified."
        ),
    ),
    BuiltinAgent(
        handle="writer",
        name="Writer",
        description="Drafts and edits copy: posts, emails, landing pages, taglines.",
        goal="Turn ideas and facts into clear, persuasive writing in the audience's voice.",
        personality="Warm, concise and concrete.",
        instructions=(
            "Ask for the audience and the goal if they are unclear. When a draft needs facts "
            "you do not have, delegate to @researcher first. Offer one strong draft rather "
            "than many weak ones."
        ),
        delegates=("researcher",),
    ),
)


def _fields(spec: BuiltinAgent) -> dict[str, Any]:
    return {
        "name": spec.name,
        "description": spec.description,
        "goal": spec.goal,
        "personality": spec.personality,
        "instructions": spec.instructions,
        "knowledge": spec.knowledge or None,
        "kind": AgentKind.SYSTEM.value,
    }


async def ensure_builtin_agents(db: Database) -> dict[str, Agent]:
    """Insert or update the built-in agents by handle; returns them by handle."""
    agents = Agents(db)
    found: dict[str, Agent] = {}
    for spec in BUILTINS:
        try:
            row = await agents.get_by_handle(spec.handle)
        except NotFound:
            row = await agents.create(handle=spec.handle, **_fields(spec))
        else:
            changed = _changes(row, _fields(spec))
            if changed:
                row = await agents.update(row.id, **changed)
        found[spec.handle] = row
    for spec in BUILTINS:
        wanted = [found[h].id for h in spec.delegates]
        if list(found[spec.handle].delegates_to or []) != wanted:
            found[spec.handle] = await agents.update(found[spec.handle].id, delegates_to=wanted)
    await _grant_memory_tools(db, found)
    return {handle: await agents.get(row.id) for handle, row in found.items()}


def _changes(row: Agent, fields: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if getattr(row, key) != value}


async def _grant_memory_tools(db: Database, found: dict[str, Agent]) -> None:
    tools = Tools(db)
    for name in MEMORY_TOOLS:
        try:
            tool = await tools.get_by_name(name)
        except NotFound:
            continue
        for agent in found.values():
            granted = {t.name for t, _ in await tools.grants_for_agent(agent.id)}
            if name not in granted:
                await tools.grant(agent.id, tool.id)
