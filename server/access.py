"""Who may do what: conversation roles, agent ownership, group administration.

A resource the caller may not see answers `not_found`, exactly like one that does not exist, so
ids cannot be probed; a resource they see but may not change answers `forbidden`.
"""

from __future__ import annotations

from typing import Any

from server.errors import ApiError, forbidden, not_found
from store.conversations import Conversations
from store.db import Database
from store.enums import AgentKind, Role
from store.groups import Groups
from store.models import User

RANK = {Role.OBSERVER.value: 0, Role.MEMBER.value: 1, Role.ADMIN.value: 2}
VERB = {Role.MEMBER.value: "post in", Role.ADMIN.value: "manage"}


async def conversation_role(db: Database, conversation_id: str, user_id: str) -> str | None:
    return await Conversations(db).access(conversation_id, user_id)


def check_role(role: str | None, minimum: str) -> str:
    """`role` if it is at least `minimum`; ApiError otherwise (404 for no role at all)."""
    if role is None:
        raise not_found("conversation")
    if RANK.get(role, -1) < RANK[minimum]:
        raise forbidden(f"your role ({role}) may not {VERB.get(minimum, 'use')} this conversation")
    return role


async def require_conversation(
    db: Database, conversation_id: str, user_id: str, minimum: str = Role.OBSERVER.value
) -> str:
    return check_role(await conversation_role(db, conversation_id, user_id), minimum)


def can_edit_agent(agent: Any, user: User) -> bool:
    """Staff edit anything; a user edits the user agents they created; system agents are
    read-only for everyone else."""
    if user.is_staff:
        return True
    return agent.kind == AgentKind.USER.value and agent.created_by == user.id


def require_agent_editor(agent: Any, user: User) -> None:
    if not can_edit_agent(agent, user):
        raise forbidden(f"only its creator or staff may change agent @{agent.handle}")


async def require_group(
    db: Database, group_id: str, user: User, minimum: str = Role.OBSERVER.value
) -> str:
    """The caller's role in the group; 404 for non-members, 403 below `minimum`."""
    role = await Groups(db).role_of(group_id, user.id)
    if role is None:
        raise not_found("group")
    if RANK.get(role, -1) < RANK[minimum]:
        wanted = "admins" if minimum == Role.ADMIN.value else "members and admins"
        raise ApiError(403, "forbidden", f"only the group's {wanted} may do this (you: {role})")
    return role
