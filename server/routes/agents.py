"""Agents, their tool grants (with per-agent config) and their memories.

Anyone signed in reads an agent's public profile (to add it to conversations and mention it);
its definition and grant configs are for its editors: the creator or staff for a user agent,
staff for a system agent. Memories follow their scope (see `Memories.list_visible`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status
from pydantic import ValidationError

from runtime.events import event
from server.access import can_edit_agent, require_agent_editor
from server.deps import AgentsDep, CurrentUser, MemoriesDep, ServicesDep, ToolsDep
from server.errors import forbidden
from server.schemas.agents import (
    AgentCreate,
    AgentProfile,
    AgentPublic,
    AgentUpdate,
    AgentView,
    GrantIn,
    GrantPublic,
    MemoryPublic,
)
from store.enums import AgentKind
from store.errors import NotFound
from store.models import Agent, AgentTool, Tool, User
from store.prompts import Reader
from tools.grants import GrantConfig, validate_grant
from tools.registry import registry

router = APIRouter(prefix="/api/agents", tags=["agents"])


def agent_public(agent: Agent, user: User) -> AgentProfile:
    """The full agent for its editors, the public profile for everyone else."""
    editor = can_edit_agent(agent, user)
    public = (AgentPublic if editor else AgentProfile).model_validate(agent)
    public.can_edit = editor
    return public


def grant_public(tool: Tool, grant: AgentTool, *, editor: bool) -> GrantPublic:
    """A grant as `GrantPublic` says: config for editors only, never a secret's value."""
    config = _public_config(grant.config) if editor else None
    return GrantPublic(
        id=grant.id,
        agent_id=grant.agent_id,
        tool_id=tool.id,
        tool=tool.name,
        description=tool.description or "",
        config=config,
        updated_at=grant.updated_at,
    )


def _public_config(stored: dict[str, Any] | None) -> dict[str, Any]:
    """The stored config without secret values; one stored before validation existed (and
    no longer valid) shows without its fixed arguments rather than failing the request."""
    try:
        return GrantConfig.from_config(stored).public_config()
    except ValidationError:
        return {k: v for k, v in (stored or {}).items() if k not in ("fixed_args", "secret_args")}


def _keep_secrets(config: dict[str, Any], stored: dict[str, Any] | None) -> dict[str, Any]:
    """A secret argument listed without a value keeps its stored one, since editors never get
    the value back to resend it."""
    secrets, fixed = config.get("secret_args"), config.get("fixed_args") or {}
    previous = (stored or {}).get("fixed_args") or {}
    if not (isinstance(secrets, list) and isinstance(fixed, dict) and isinstance(previous, dict)):
        return config  # nothing to keep; validation reports a malformed config
    fixed = dict(fixed)
    for name in secrets:
        if isinstance(name, str) and name not in fixed and name in previous:
            fixed[name] = previous[name]
    return {**config, "fixed_args": fixed} if fixed else config


@router.get("", response_model=list[AgentView])
async def list_agents(user: CurrentUser, agents: AgentsDep) -> list[AgentProfile]:
    return [agent_public(a, user) for a in await agents.list()]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AgentView)
async def create_agent(body: AgentCreate, user: CurrentUser, agents: AgentsDep) -> AgentProfile:
    if body.kind == AgentKind.SYSTEM.value and not user.is_staff:
        raise forbidden("only staff create system agents")
    fields = body.model_dump(exclude_unset=True)
    fields["kind"] = body.kind
    agent = await agents.create(
        **fields, created_by=user.id, updated_by=user.id, reader=Reader(user.id, user.is_staff)
    )
    return agent_public(agent, user)


@router.get("/{agent_id}", response_model=AgentView)
async def get_agent(agent_id: str, user: CurrentUser, agents: AgentsDep) -> AgentProfile:
    return agent_public(await agents.get(agent_id), user)


@router.patch("/{agent_id}", response_model=AgentView)
async def update_agent(
    agent_id: str, body: AgentUpdate, user: CurrentUser, agents: AgentsDep
) -> AgentProfile:
    require_agent_editor(await agents.get(agent_id), user)
    fields = body.model_dump(exclude_unset=True)
    agent = await agents.update(
        agent_id, updated_by=user.id, reader=Reader(user.id, user.is_staff), **fields
    )
    return agent_public(agent, user)


@router.delete("/{agent_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_agent(
    agent_id: str, user: CurrentUser, agents: AgentsDep, services: ServicesDep
) -> Response:
    """Its past messages stay, under its name; open rooms are told it left them."""
    require_agent_editor(await agents.get(agent_id), user)
    for left in await agents.delete(agent_id):
        await services.bus.publish(
            left.conversation_id,
            event(
                "participant.removed",
                left.conversation_id,
                participant_id=left.id,
                user_id=None,
                agent_id=agent_id,
            ),
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{agent_id}/tools", response_model=list[GrantPublic])
async def list_grants(
    agent_id: str, user: CurrentUser, agents: AgentsDep, tools: ToolsDep
) -> list[GrantPublic]:
    editor = can_edit_agent(await agents.get(agent_id), user)
    return [grant_public(t, g, editor=editor) for t, g in await tools.grants_for_agent(agent_id)]


@router.get("/{agent_id}/tools/{tool_name}", response_model=GrantPublic)
async def get_grant(
    agent_id: str, tool_name: str, user: CurrentUser, agents: AgentsDep, tools: ToolsDep
) -> GrantPublic:
    editor = can_edit_agent(await agents.get(agent_id), user)
    tool = await tools.get_by_name(tool_name)
    return grant_public(tool, await tools.grant_for(agent_id, tool.id), editor=editor)


@router.put("/{agent_id}/tools/{tool_name}", response_model=GrantPublic)
async def put_grant(
    agent_id: str,
    tool_name: str,
    body: GrantIn,
    response: Response,
    user: CurrentUser,
    agents: AgentsDep,
    tools: ToolsDep,
) -> GrantPublic:
    """Grant the tool with this config, or replace the config of an existing grant."""
    agent = await agents.get(agent_id)
    require_agent_editor(agent, user)
    tool = await tools.get_by_name(tool_name)
    try:
        existing: AgentTool | None = await tools.grant_for(agent_id, tool.id)
    except NotFound:
        existing = None
    wanted = _keep_secrets(body.config, existing.config if existing is not None else None)
    config = validate_grant(wanted, registry.get(tool.name), agent=agent.handle).to_config()
    if existing is None:
        grant = await tools.grant(agent_id, tool.id, config, created_by=user.id)
        response.status_code = status.HTTP_201_CREATED
    else:
        grant = await tools.update_grant(agent_id, tool.id, config, updated_by=user.id)
    return grant_public(tool, grant, editor=True)


@router.delete("/{agent_id}/tools/{tool_name}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_grant(
    agent_id: str, tool_name: str, user: CurrentUser, agents: AgentsDep, tools: ToolsDep
) -> Response:
    require_agent_editor(await agents.get(agent_id), user)
    tool = await tools.get_by_name(tool_name)
    await tools.revoke(agent_id, tool.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{agent_id}/memories", response_model=list[MemoryPublic])
async def list_memories(
    agent_id: str, user: CurrentUser, agents: AgentsDep, memories: MemoriesDep
) -> list[Any]:
    """Everyone sees the agent-wide memories and their own; editors also the group ones;
    another user's private memories only staff."""
    agent = await agents.get(agent_id)
    return await memories.list_visible(
        agent_id, user.id, staff=user.is_staff, editor=can_edit_agent(agent, user), limit=500
    )
