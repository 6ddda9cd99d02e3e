"""Groups and their members: members read, admins (and the owner) manage.

A membership change reaches the group's conversations at once: their open sockets hear
`participant.added` / `participant.removed` (through the bus, so in every process), and a
removed member's sockets lose the conversations (see `Hub._check_access`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from runtime.events import event
from server.access import require_group
from server.deps import CurrentUser, DatabaseDep, GroupsDep, ServicesDep
from server.errors import forbidden
from server.room_events import announce_added, announce_removed, named_members
from server.schemas.groups import (
    GroupCreate,
    GroupPublic,
    GroupUpdate,
    MemberCreate,
    MemberPublic,
    MemberUpdate,
)
from server.services import Services
from server.transcript import participants_to_wire
from store.enums import Role
from store.group_directory import group_conversation_ids
from store.groups import Change

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
    return await named_members(db, await groups.members(group_id))


@router.post(
    "/{group_id}/members", status_code=status.HTTP_201_CREATED, response_model=MemberPublic
)
async def add_member(
    group_id: str, body: MemberCreate, user: CurrentUser, groups: GroupsDep, services: ServicesDep
) -> Any:
    """An agent added to the group joins its conversations (and answers there); a member
    who had left gets back the conversations leaving took away."""
    await require_group(services.db, group_id, user, ADMIN)
    change = await groups.join(
        group_id, added_by=user.id, user_id=body.user_id, agent_id=body.agent_id, role=body.role
    )
    wires = await participants_to_wire(services.db, change.participants)
    for row, wire in zip(change.participants, wires, strict=True):
        await services.bus.publish(
            row.conversation_id, event("participant.added", row.conversation_id, participant=wire)
        )
    if change.member.user_id is not None:
        for conversation_id in await group_conversation_ids(services.db, group_id):
            await announce_added(services, conversation_id, [change.member.user_id])
    [named] = await named_members(services.db, [change.member])
    return named


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
    group_id: str, member_id: str, user: CurrentUser, groups: GroupsDep, services: ServicesDep
) -> Response:
    """Admins remove anyone (but the owner); every member may leave. Leaving the group is
    leaving its conversations, open sockets included, in every process."""
    await require_group(services.db, group_id, user)
    member = await groups.get_member(group_id, member_id)
    if member.user_id != user.id:
        await require_group(services.db, group_id, user, ADMIN)
    change = await groups.leave(group_id, member_id)
    await _announce_departure(services, change)
    if change.member.user_id is not None:
        gone = [p.conversation_id for p in change.participants] + change.conversation_ids
        reason = "left" if change.member.user_id == user.id else "removed"
        for conversation_id in gone:
            await announce_removed(services, conversation_id, [change.member.user_id], reason)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _announce_departure(services: Services, change: Change) -> None:
    """`participant.removed` in each conversation of the group: with the participant row it
    closed, or (a member who only read there) with `participant_id` null."""
    member = change.member
    gone = [(p.conversation_id, p.id) for p in change.participants]
    if member.user_id is not None:
        gone += [(conversation_id, None) for conversation_id in change.conversation_ids]
    for conversation_id, participant_id in gone:
        await services.bus.publish(
            conversation_id,
            event(
                "participant.removed",
                conversation_id,
                participant_id=participant_id,
                user_id=member.user_id,
                agent_id=member.agent_id,
            ),
        )
