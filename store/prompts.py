"""Reusable prompts and their attachments to agents or groups.

Attaching or detaching a prompt changes what an agent is told, so it bumps the agent's `version`
(compiled graphs are cached by it); editing an attached prompt does the same for every agent it
is attached to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from store import crud
from store.base import utcnow
from store.db import Database
from store.enums import AttachmentOwner
from store.errors import InvalidValue, NotFound
from store.models import Agent, Attachment, Group, Prompt

EDITABLE = ("title", "content", "tags", "status", "category")


@dataclass(frozen=True)
class Reader:
    """Who reads prompts: their creator reads them, staff read every prompt.

    A prompt is private to its creator, so it can only shape (be attached to) what its reader
    may see; anyone else is told it does not exist, so ids cannot be probed.
    """

    user_id: str
    is_staff: bool = False

    def condition(self) -> ColumnElement[bool]:
        return true() if self.is_staff else Prompt.created_by == self.user_id


class Prompts:
    """Repository of `prompts` and `attachments`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, title: str, content: str, created_by: str, **fields: Any) -> Prompt:
        unknown = set(fields) - set(EDITABLE)
        if unknown:
            raise InvalidValue("prompts", ", ".join(sorted(unknown)), None, "a prompt field")
        prompt = crud.build(Prompt, title=title, content=content, created_by=created_by, **fields)
        return await crud.insert(self.db, prompt, name_reference=False)

    async def get(self, prompt_id: str) -> Prompt:
        return await crud.get(self.db, Prompt, prompt_id)

    async def readable(self, prompt_id: str, reader: Reader) -> Prompt:
        """The prompt if `reader` may read it; NotFound otherwise, as for a missing id."""
        async with self.db.read() as session:
            prompt = await session.scalar(
                select(Prompt).where(Prompt.id == prompt_id, reader.condition())
            )
        if prompt is None:
            raise NotFound("prompts", prompt_id)
        return prompt

    async def list(self, created_by: str | None = None) -> list[Prompt]:
        query = select(Prompt).order_by(Prompt.id)
        if created_by is not None:
            query = query.where(Prompt.created_by == created_by)
        return await crud.scalars(self.db, query)

    async def update(self, prompt_id: str, updated_by: str | None = None, **fields: Any) -> Prompt:
        unknown = set(fields) - set(EDITABLE)
        if unknown:
            raise InvalidValue("prompts", ", ".join(sorted(unknown)), None, "a prompt field")
        async with self.db.session() as session:
            prompt = await crud.fetch(session, Prompt, prompt_id)
            crud.assign(prompt, **fields, updated_at=utcnow(), updated_by=updated_by)
            await _bump_agents_using(session, prompt_id)
        return prompt

    async def delete(self, prompt_id: str) -> None:
        async with self.db.session() as session:
            prompt = await crud.fetch(session, Prompt, prompt_id)
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
            await crud.fetch(session, owner_model[owner_type], owner_id)
            await crud.fetch(session, Prompt, prompt_id)
            attachment = crud.build(
                Attachment,
                owner_type=owner_type,
                owner_id=owner_id,
                prompt_id=prompt_id,
                created_by=created_by,
            )
            await crud.add(session, attachment)
            if owner_type == AttachmentOwner.AGENT.value:
                await _bump_agents(session, [owner_id])
        return attachment

    async def get_attachment(self, attachment_id: str) -> Attachment:
        return await crud.get(self.db, Attachment, attachment_id)

    async def detach(self, attachment_id: str) -> Attachment:
        async with self.db.session() as session:
            attachment = await crud.fetch(session, Attachment, attachment_id)
            if attachment.owner_type == AttachmentOwner.AGENT.value:
                await _bump_agents(session, [attachment.owner_id])
            await session.delete(attachment)
        return attachment

    async def attachments(self, owner_type: str, owner_id: str) -> list[Attachment]:
        query = (
            select(Attachment)
            .where(Attachment.owner_type == owner_type, Attachment.owner_id == owner_id)
            .order_by(Attachment.id)
        )
        return await crud.scalars(self.db, query)


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
