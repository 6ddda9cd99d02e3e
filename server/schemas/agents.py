"""Agents, tools and grants on the wire (the seed's names in snake_case)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from server.schemas.base import In, JsonData, JsonObject, Out, keep_unset

IdList = Annotated[list[str], BeforeValidator(lambda v: [] if v is None else v)]
Text = Annotated[str, BeforeValidator(lambda v: "" if v is None else v)]
Handle = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")]


class AgentFields(In):
    description: Text = keep_unset()  # null clears it to ""
    avatar_url: Text = keep_unset()
    goal: str | None = None
    system_prompt: str | None = None
    instructions: str | None = None
    personality: str | None = None
    delegates_to: list[str] | None = None
    attached_prompts: list[str] | None = None
    model: Annotated[str, Field(max_length=200)] | None = None
    knowledge: JsonData = None


class AgentCreate(AgentFields):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    handle: Handle | None = None
    kind: Annotated[str, Field(pattern="^(user_agent|system_agent)$")] = "user_agent"


class AgentUpdate(AgentFields):
    """A PATCH: `name` and `handle` can change but not be cleared."""

    name: Annotated[str, Field(min_length=1, max_length=200)] = keep_unset()
    handle: Handle = keep_unset()


class AgentProfile(Out):
    """What every signed-in user sees of an agent: enough to find it, mention it, add it to a
    conversation and show it. The definition (instructions, knowledge, prompts, model...) is
    its editors' alone."""

    id: str
    name: str
    handle: str
    description: Text = ""
    avatar_url: Text = ""
    kind: str
    created_by: str | None = None
    version: int
    created_at: datetime
    updated_at: datetime | None = None
    can_edit: bool = False


class AgentPublic(AgentProfile):
    """The whole agent, for its editors (its creator and staff). The definition fields have
    no defaults, so a profile can never be mistaken for (or padded into) a full agent."""

    goal: str | None
    system_prompt: str | None
    instructions: str | None
    personality: str | None
    delegates_to: IdList
    attached_prompts: IdList
    model: str | None
    knowledge: Any


# A response is the full agent for its editors and the profile for everyone else.
AgentView = AgentPublic | AgentProfile


class ToolPublic(Out):
    id: str
    name: str
    description: str = ""
    parameters: dict[str, Any] | None = None
    config: dict[str, Any] | None = None


class GrantIn(In):
    config: JsonObject = {}


class GrantPublic(Out):
    """A tool granted to an agent. `config` is null unless the caller edits the agent, and
    never carries the values of its `secret_args`."""

    id: str
    agent_id: str
    tool_id: str
    tool: str
    description: str = ""
    config: dict[str, Any] | None = None
    updated_at: datetime | None = None


class MemoryPublic(Out):
    id: str
    agent_id: str
    scope: str
    content: str
    user_id: str | None = None
    group_id: str | None = None
    source: Any = None
    tags: Any = None
    created_at: datetime
