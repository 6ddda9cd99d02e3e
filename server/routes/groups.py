"""Groups and their members: members read, admins (and the owner) manage."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from server.access import require_group
from server.deps import CurrentUser, DatabaseDep, GroupsDep
from server.errors import forbidden
from server.schemas.groups import (
    GroupCreate,
    GroupPublic,
    GroupUpdate,
    MemberCreate,
    MemberPublic,
    MemberUpdate,
)
from store.enums import Role

router = APIRouter(prefix="/api/groups", tags=["groups"])
ADMIN = Role.ADMIN.value


@router.get("", response_model=list[GroupPublic])
async def list_groups(user: CurrentUser, groups: GroupsDep) -> list[GroupPublic]:
    result = []
    for group in await groups.list_for_user(user.id):
        public = GroupPublic.model_validate(group)
        public.role = await groups.role_of(group.id, user.id)
        result.append(public)
    return result


@router.post("", status_code=status.HTTP_201_CREATED, response_model=GroupPublic)
async def create_group(body: GroupCreate, user: CurrentUser, groups: GroupsDep) -> GroupPublic:
    public = GroupPublic.model_validate(await groups.create(body.name, user.id))
    public.role = ADMIN
    return public


@router.get("/{group_id}", response_model=GroupPublic)
async def get_group(
    group_id: str, user: CurrentUser, groups: GroupsDep, db: DatabaseDep
) -> GroupPublic:
    role = await require_group(db, group_id, user)
    public = GroupPublic.model_validate(await groups.get(group_id))
    public.role = role
    return public


@router.patch("/{group_id}", response_model=GroupPublic)
async def rename_group(
    group_id: str, body: GroupUpdate, user: CurrentUser, groups: GroupsDep, db: DatabaseDep
) -> GroupPublic:
    role = await require_group(db, group_id, user, ADMIN)
    public = GroupPublic.model_validate(await groups.rename(group_id, body.name))
    public.role = role
    return public


@router.delete("/{group_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_group(
    group_id: str, user: CurrentUser, groups: GroupsDep, db: DatabaseDep
) -> Response:
    await require_group(db, group_id, user)
    if (await groups.get(group_id)).owner_id != user.id:
        raise forbidden("only the group's owner may delete it")
    await groups.delete(group_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{group_id}/members", response_model=list[MemberPublic])
async def list_members(
    group_id: str, user: CurrentUser, groups: GroupsDep, db: DatabaseDep
) -> list[Any]:
    await require_group(db, group_id, user)
    return await groups.members(group_id)


@router.post(
    "/{group_id}/members", status_code=status.HTTP_201_CREATED, response_model=MemberPublic
)
async def add_member(
    group_id: str, body: MemberCreate, user: CurrentUser, groups: GroupsDep, db: DatabaseDep
) -> Any:
    await require_group(db, group_id, user, ADMIN)
    return await groups.add_member(
        group_id, added_by=user.id, user_id=body.user_id, agent_id=body.agent_id, role=body.role
    )


@router.patch("/{group_id}/members/{member_id}", response_model=MemberPublic)
async def set_member_role(
    group_id: str,
    member_id: str,
    body: MemberUpdate,
    user: CurrentUser,
    groups: GroupsDep,
    db: DatabaseDep,
) -> Any:
    await require_group(db, group_id, user, ADMIN)
    return await groups.set_role(group_id, member_id, body.role, updated_by=user.id)


@router.delete("/{group_id}/members/{member_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_member(
    group_id: str, member_id: str, user: CurrentUser, groups: GroupsDep, db: DatabaseDep
) -> Response:
    """Admins remove anyone (but the owner); every member may leave."""
    await require_group(db, group_id, user)
    member = await groups.get_member(group_id, member_id)
    if member.user_id != user.id:
        await require_group(db, group_id, user, ADMIN)
    await groups.remove_member(group_id, member_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
