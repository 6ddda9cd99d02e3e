"""Reusable prompts and their attachments to agents or groups.

Attaching or detaching a prompt changes what an agent is told, so it bumps the agent's `version`
(compiled graphs are cached by it); editing an attached prompt does the same for every agent it
is attached to.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from store.base import utcnow
from store.db import Database
from store.enums import AttachmentOwner
from store.errors import InvalidValue, NotFound, integrity_conflict
from store.models import Agent, Attachment, Group, Prompt

EDITABLE = ("title", "content", "tags", "status", "category")


class Prompts:
    """Repository of `prompts` and `attachments`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, title: str, content: str, created_by: str, **fields: Any) -> Prompt:
        unknown = set(fields) - set(EDITABLE)
        if unknown:
            raise InvalidValue("prompts", ", ".join(sorted(unknown)), None, "a prompt field")
        try:
            async with self.db.session() as session:
                prompt = Prompt(title=title, content=content, created_by=created_by, **fields)
                session.add(prompt)
                await session.flush()
            return prompt
        except IntegrityError as exc:
            raise integrity_conflict("prompts", exc) from exc

    async def get(self, prompt_id: str) -> Prompt:
        async with self.db.session() as session:
            prompt = await session.get(Prompt, prompt_id)
        if prompt is None:
            raise NotFound("prompts", prompt_id)
        return prompt

    async def list(self, created_by: str | None = None) -> list[Prompt]:
        async with self.db.session() as session:
            query = select(Prompt).order_by(Prompt.id)
            if created_by is not None:
                query = query.where(Prompt.created_by == created_by)
            return list(await session.scalars(query))

    async def update(self, prompt_id: str, updated_by: str | None = None, **fields: Any) -> Prompt:
        unknown = set(fields) - set(EDITABLE)
        if unknown:
            raise InvalidValue("prompts", ", ".join(sorted(unknown)), None, "a prompt field")
        async with self.db.session() as session:
            prompt = await session.get(Prompt, prompt_id)
            if prompt is None:
                raise NotFound("prompts", prompt_id)
            for name, value in fields.items():
                setattr(prompt, name, value)
            prompt.updated_at = utcnow()
            prompt.updated_by = updated_by
            await _bump_agents_using(session, prompt_id)
        return prompt

    async def delete(self, prompt_id: str) -> None:
        async with self.db.session() as session:
            prompt = await session.get(Prompt, prompt_id)
            if prompt is None:
                raise NotFound("prompts", prompt_id)
            await _bump_agents_using(session, prompt_id)
            await session.delete(prompt)

    async def attach(
        self, owner_type: str, owner_id: str, prompt_id: str, *, created_by: str | None = None
    ) -> Attachment:
        """Attach a prompt to an agent or a group (both must exist)."""
        owner_model = {AttachmentOwner.AGENT.value: Agent, AttachmentOwner.GROUP.value: Group}
        if owner_type not in owner_model:
            raise InvalidValue("attachments", "owner_type", owner_type, "agent or group")
        async with self.db.session() as session:
            if await session.get(owner_model[owner_type], owner_id) is None:
                raise NotFound(owner_model[owner_type].__tablename__, owner_id)
            if await session.get(Prompt, prompt_id) is None:
                raise NotFound("prompts", prompt_id)
            attachment = Attachment(
                owner_type=owner_type, owner_id=owner_id, prompt_id=prompt_id, created_by=created_by
            )
            session.add(attachment)
            if owner_type == AttachmentOwner.AGENT.value:
                await _bump_agents(session, [owner_id])
            await session.flush()
        return attachment

    async def get_attachment(self, attachment_id: str) -> Attachment:
        async with self.db.session() as session:
            attachment = await session.get(Attachment, attachment_id)
        if attachment is None:
            raise NotFound("attachments", attachment_id)
        return attachment

    async def detach(self, attachment_id: str) -> Attachment:
        async with self.db.session() as session:
            attachment = await session.get(Attachment, attachment_id)
            if attachment is None:
                raise NotFound("attachments", attachment_id)
            if attachment.owner_type == AttachmentOwner.AGENT.value:
                await _bump_agents(session, [attachment.owner_id])
            await session.delete(attachment)
        return attachment

    async def attachments(self, owner_type: str, owner_id: str) -> list[Attachment]:
        async with self.db.session() as session:
            rows = await session.scalars(
                select(Attachment)
                .where(Attachment.owner_type == owner_type, Attachment.owner_id == owner_id)
                .order_by(Attachment.id)
            )
            return list(rows)


async def _bump_agents(session: AsyncSession, agent_ids: list[str]) -> None:
    if agent_ids:
        await session.execute(
            update(Agent).where(Agent.id.in_(agent_ids)).values(version=Agent.version + 1)
        )


async def _bump_agents_using(session: AsyncSession, prompt_id: str) -> None:
    agent_ids = await session.scalars(
        select(Attachment.owner_id).where(
            Attachment.prompt_id == prompt_id, Attachment.owner_type == AttachmentOwner.AGENT.value
        )
    )
    await _bump_agents(session, list(agent_ids))
