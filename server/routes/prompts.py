"""Prompts (private to their creator) and their attachments to agents and groups."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status

from server.access import require_agent_editor, require_group
from server.deps import AgentsDep, CurrentUser, DatabaseDep, PromptsDep
from server.schemas.prompts import (
    AttachmentCreate,
    AttachmentPublic,
    PromptCreate,
    PromptPublic,
    PromptUpdate,
)
from store.db import Database
from store.enums import AttachmentOwner, Role
from store.models import Prompt, User
from store.prompts import Prompts, Reader

router = APIRouter(prefix="/api", tags=["prompts"])


async def _own_prompt(prompts: Prompts, prompt_id: str, user: User) -> Prompt:
    """The prompt if the caller may read it: someone else's answers like a missing id."""
    return await prompts.readable(prompt_id, Reader(user.id, user.is_staff))


async def _require_owner_admin(
    db: Database, agents: Any, owner_type: str, owner_id: str, user: User
) -> None:
    """Attachments change an agent's or a group's instructions: its editors decide."""
    if owner_type == AttachmentOwner.AGENT.value:
        require_agent_editor(await agents.get(owner_id), user)
    else:
        await require_group(db, owner_id, user, Role.ADMIN.value)


@router.get("/prompts", response_model=list[PromptPublic])
async def list_prompts(user: CurrentUser, prompts: PromptsDep) -> list[Any]:
    return await prompts.list(created_by=user.id)


@router.post("/prompts", status_code=status.HTTP_201_CREATED, response_model=PromptPublic)
async def create_prompt(body: PromptCreate, user: CurrentUser, prompts: PromptsDep) -> Any:
    fields = body.model_dump(exclude_unset=True, exclude={"title", "content"})
    return await prompts.create(body.title, body.content, user.id, **fields)


@router.get("/prompts/{prompt_id}", response_model=PromptPublic)
async def get_prompt(prompt_id: str, user: CurrentUser, prompts: PromptsDep) -> Any:
    return await _own_prompt(prompts, prompt_id, user)


@router.patch("/prompts/{prompt_id}", response_model=PromptPublic)
async def update_prompt(
    prompt_id: str, body: PromptUpdate, user: CurrentUser, prompts: PromptsDep
) -> Any:
    await _own_prompt(prompts, prompt_id, user)
    return await prompts.update(
        prompt_id, updated_by=user.id, **body.model_dump(exclude_unset=True)
    )


@router.delete("/prompts/{prompt_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_prompt(prompt_id: str, user: CurrentUser, prompts: PromptsDep) -> Response:
    await _own_prompt(prompts, prompt_id, user)
    await prompts.delete(prompt_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/attachments", response_model=list[AttachmentPublic])
async def list_attachments(
    owner_type: Annotated[Literal["agent", "group"], Query()],
    owner_id: Annotated[str, Query(min_length=1, max_length=26)],
    user: CurrentUser,
    prompts: PromptsDep,
    agents: AgentsDep,
    db: DatabaseDep,
) -> list[Any]:
    """An agent's attachments are part of its definition (its editors'); a group's are for
    its members."""
    if owner_type == AttachmentOwner.AGENT.value:
        require_agent_editor(await agents.get(owner_id), user)
    else:
        await require_group(db, owner_id, user)
    return await prompts.attachments(owner_type, owner_id)


@router.post("/attachments", status_code=status.HTTP_201_CREATED, response_model=AttachmentPublic)
async def attach(
    body: AttachmentCreate,
    user: CurrentUser,
    prompts: PromptsDep,
    agents: AgentsDep,
    db: DatabaseDep,
) -> Any:
    await _require_owner_admin(db, agents, body.owner_type, body.owner_id, user)
    await _own_prompt(prompts, body.prompt_id, user)
    return await prompts.attach(body.owner_type, body.owner_id, body.prompt_id, created_by=user.id)


@router.delete("/attachments/{attachment_id}", status_code=status.HTTP_204_NO_CONTENT)
async def detach(
    attachment_id: str,
    user: CurrentUser,
    prompts: PromptsDep,
    agents: AgentsDep,
    db: DatabaseDep,
) -> Response:
    attachment = await prompts.get_attachment(attachment_id)
    await _require_owner_admin(db, agents, attachment.owner_type, attachment.owner_id, user)
    await prompts.detach(attachment_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
