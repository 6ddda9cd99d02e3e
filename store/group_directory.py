"""Names for group members and the conversations of a group, for pages and list events."""

from __future__ import annotations

from sqlalchemy import select

from store.db import Database
from store.models import Agent, Conversation, GroupMember, User


async def member_names(
    db: Database, members: list[GroupMember]
) -> dict[str, tuple[str, str | None]]:
    """Each member's display name and (for an agent) handle, by member id."""
    user_ids = [m.user_id for m in members if m.user_id]
    agent_ids = [m.agent_id for m in members if m.agent_id]
    users: dict[str, str] = {}
    agents: dict[str, tuple[str, str | None]] = {}
    async with db.read() as session:
        if user_ids:
            query = select(User.id, User.name).where(User.id.in_(user_ids))
            users = {row.id: row.name for row in (await session.execute(query)).all()}
        if agent_ids:
            query = select(Agent.id, Agent.name, Agent.handle).where(Agent.id.in_(agent_ids))
            rows = (await session.execute(query)).all()
            agents = {row.id: (row.name, row.handle) for row in rows}
    names: dict[str, tuple[str, str | None]] = {}
    for m in members:
        if m.user_id:
            names[m.id] = (users.get(m.user_id, ""), None)
        else:
            names[m.id] = agents.get(m.agent_id or "", ("", None))
    return names


async def group_conversation_ids(db: Database, group_id: str) -> list[str]:
    async with db.read() as session:
        query = select(Conversation.id).where(Conversation.group_id == group_id)
        return list(await session.scalars(query.order_by(Conversation.id)))
