"""Agents, their tool grants (with per-agent config) and their memories.

Anyone signed in reads agents (to add them to conversations); only the creator or staff changes
a user agent, and system agents change only by staff.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from runtime.events import event
from server.access import can_edit_agent, require_agent_editor
from server.deps import AgentsDep, CurrentUser, MemoriesDep, ServicesDep, ToolsDep
from server.errors import forbidden
from server.schemas.agents import (
    AgentCreate,
    AgentPublic,
    AgentUpdate,
    GrantIn,
    GrantPublic,
    MemoryPublic,
)
from store.enums import AgentKind, MemoryScope
from store.errors import NotFound
from store.models import Agent, AgentTool, Tool, User
from tools.grants import validate_grant
from tools.registry import registry

router = APIRouter(prefix="/api/agents", tags=["agents"])


def agent_public(agent: Agent, user: User) -> AgentPublic:
    public = AgentPublic.model_validate(agent)
    public.can_edit = can_edit_agent(agent, user)
    return public


def grant_public(tool: Tool, grant: AgentTool) -> GrantPublic:
    return GrantPublic(
        id=grant.id,
        agent_id=grant.agent_id,
        tool_id=tool.id,
        tool=tool.name,
        description=tool.description or "",
        config=grant.config or {},
        updated_at=grant.updated_at,
    )


@router.get("", response_model=list[AgentPublic])
async def list_agents(user: CurrentUser, agents: AgentsDep) -> list[AgentPublic]:
    return [agent_public(a, user) for a in await agents.list()]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AgentPublic)
async def create_agent(body: AgentCreate, user: CurrentUser, agents: AgentsDep) -> AgentPublic:
    if body.kind == AgentKind.SYSTEM.value and not user.is_staff:
        raise forbidden("only staff create system agents")
    fields = body.model_dump(exclude_unset=True)
    fields["kind"] = body.kind
    agent = await agents.create(**fields, created_by=user.id, updated_by=user.id)
    return agent_public(agent, user)


@router.get("/{agent_id}", response_model=AgentPublic)
async def get_agent(agent_id: str, user: CurrentUser, agents: AgentsDep) -> AgentPublic:
    return agent_public(await agents.get(agent_id), user)


@router.patch("/{agent_id}", response_model=AgentPublic)
async def update_agent(
    agent_id: str, body: AgentUpdate, user: CurrentUser, agents: AgentsDep
) -> AgentPublic:
    require_agent_editor(await agents.get(agent_id), user)
    fields = body.model_dump(exclude_unset=True)
    agent = await agents.update(agent_id, updated_by=user.id, **fields)
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
    await agents.get(agent_id)
    return [grant_public(t, g) for t, g in await tools.grants_for_agent(agent_id)]


@router.get("/{agent_id}/tools/{tool_name}", response_model=GrantPublic)
async def get_grant(
    agent_id: str, tool_name: str, user: CurrentUser, agents: AgentsDep, tools: ToolsDep
) -> GrantPublic:
    await agents.get(agent_id)
    tool = await tools.get_by_name(tool_name)
    return grant_public(tool, await tools.grant_for(agent_id, tool.id))


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
    config = validate_grant(body.config, registry.get(tool.name), agent=agent.handle).to_config()
    try:
        await tools.grant_for(agent_id, tool.id)
    except NotFound:
        grant = await tools.grant(agent_id, tool.id, config, created_by=user.id)
        response.status_code = status.HTTP_201_CREATED
    else:
        grant = await tools.update_grant(agent_id, tool.id, config, updated_by=user.id)
    return grant_public(tool, grant)


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
    """Editors see every memory of the agent; others its agent-wide ones and their own."""
    agent = await agents.get(agent_id)
    rows = await memories.list_for_agent(agent_id, limit=500)
    if can_edit_agent(agent, user):
        return rows
    return [
        m
        for m in rows
        if m.scope == MemoryScope.AGENT.value
        or (m.scope == MemoryScope.USER.value and m.user_id == user.id)
    ]
