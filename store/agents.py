"""Agent definitions: create, read, edit (bumping `version`), and the prompts attached to them.

Every edit bumps `version`; the runtime caches compiled graphs by (agent id, version), so an edit
applies on the next turn without a restart. Handles are what people type after `@`: lowercase
letters, digits, `-` and `_`, unique across agents.

Deleting an agent keeps its row as a tombstone (`deleted_at`), because the messages it wrote
keep their author: the transcript still shows its name. Everything else goes: it is not found,
listed, granted tools, remembered or routed to, and its handle is free for a new agent.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store import crud
from store.base import utcnow
from store.db import Database
from store.enums import AttachmentOwner
from store.errors import Conflict, InvalidValue, NotFound
from store.models import (
    Agent,
    AgentTool,
    Attachment,
    ConversationParticipant,
    GroupMember,
    Memory,
    Prompt,
    Tool,
)
from store.prompts import Reader

HANDLE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
FIXED = frozenset({"id", "created_at", "version", "deleted_at"})
EDITABLE = frozenset(c.key for c in Agent.__mapper__.column_attrs) - FIXED


def handle_from_name(name: str) -> str:
    """`"Market Researcher!"` -> `"market-researcher"` (ASCII, lowercase, dashes)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    handle = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:64].strip("-")
    return handle or "agent"


def check_handle(handle: str) -> str:
    handle = handle.strip().lstrip("@").lower()
    if not HANDLE.match(handle):
        raise InvalidValue(
            "agents", "handle", handle, "1-64 of a-z, 0-9, '-', '_' starting with a letter or digit"
        )
    return handle


@dataclass(frozen=True)
class AttachedPrompt:
    """A prompt that shapes an agent's instructions, and where it comes from
    (`agent`: listed on the agent or attached to it; `group`: attached to the group)."""

    prompt: Prompt
    via: str


class Agents:
    """Repository of `agents`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, *, reader: Reader | None = None, **fields: Any) -> Agent:
        """A new agent. Without a `handle` one is derived from the name (with a numeric
        suffix if taken); an explicit handle that is taken raises `Conflict`. With `reader`,
        only prompts the reader may read can be listed in `attached_prompts`."""
        _check_fields(fields)
        name = str(fields.get("name") or "").strip()
        if not name:
            raise InvalidValue("agents", "name", fields.get("name"), "a non-empty name")
        fields["name"] = name
        explicit = fields.get("handle")
        async with crud.writing(self.db, "agents") as session:
            await _check_references(session, fields, reader=reader)
            if explicit:
                fields["handle"] = check_handle(explicit)
                await _ensure_free(session, fields["handle"])
            else:
                fields["handle"] = await _free_handle(session, handle_from_name(name))
            agent = await crud.add(session, crud.build(Agent, **fields, version=1))
        return agent

    async def get(self, agent_id: str) -> Agent:
        async with self.db.read() as session:
            return await _live(session, agent_id)

    async def get_many(self, agent_ids: Iterable[str]) -> dict[str, Agent]:
        """The agents that exist among `agent_ids`, by id."""
        ids = list(agent_ids)
        if not ids:
            return {}
        async with self.db.read() as session:
            rows = await session.scalars(
                select(Agent).where(Agent.id.in_(ids), Agent.deleted_at.is_(None))
            )
            return {row.id: row for row in rows}

    async def get_by_handle(self, handle: str) -> Agent:
        key = handle.strip().lstrip("@").lower()
        async with self.db.read() as session:
            agent = await session.scalar(
                select(Agent).where(Agent.handle == key, Agent.deleted_at.is_(None))
            )
        if agent is None:
            raise NotFound("agents", handle, "handle")
        return agent

    async def list(self, created_by: str | None = None, kind: str | None = None) -> list[Agent]:
        query = select(Agent).where(Agent.deleted_at.is_(None)).order_by(Agent.name, Agent.id)
        if created_by is not None:
            query = query.where(Agent.created_by == created_by)
        if kind is not None:
            query = query.where(Agent.kind == kind)
        async with self.db.read() as session:
            return list(await session.scalars(query))

    async def update(
        self,
        agent_id: str,
        updated_by: str | None = None,
        *,
        reader: Reader | None = None,
        **fields: Any,
    ) -> Agent:
        """Edit fields and bump `version`; references (`delegates_to`, `tools`,
        `attached_prompts`) must name existing rows. With `reader`, prompts newly listed in
        `attached_prompts` must be ones the reader may read (those already listed stay)."""
        _check_fields(fields)
        async with crud.writing(self.db, "agents") as session:
            agent = await _live(session, agent_id)
            await _check_references(session, fields, agent_id=agent_id, reader=reader, agent=agent)
            if "handle" in fields:
                fields["handle"] = check_handle(fields["handle"])
                if fields["handle"] != agent.handle:
                    await _ensure_free(session, fields["handle"])
            if "name" in fields and not str(fields["name"] or "").strip():
                raise InvalidValue("agents", "name", fields["name"], "a non-empty name")
            crud.assign(agent, **fields)
            _bump(agent, updated_by)
            await session.flush()
        return agent

    async def bump_version(self, agent_id: str, updated_by: str | None = None) -> int:
        """Mark the agent changed (e.g. a grant or an attached prompt changed); the new version."""
        async with self.db.session() as session:
            agent = await _live(session, agent_id)
            _bump(agent, updated_by)
            return agent.version

    async def touch_active(self, agent_id: str) -> None:
        """Record that the agent just spoke (not an edit: the version stays)."""
        async with self.db.session() as session:
            agent = await crud.fetch(session, Agent, agent_id)
            agent.last_active_time = utcnow()

    async def delete(self, agent_id: str) -> list[ConversationParticipant]:
        """Delete the agent, keeping a tombstone so its past messages keep their author (see
        the module docstring); agents that could delegate to it lose it from `delegates_to`.
        Returns the places in conversations it left, for the caller to announce."""
        async with self.db.session() as session:
            agent = await _live(session, agent_id)
            for other in await session.scalars(
                select(Agent).where(Agent.id != agent_id, Agent.deleted_at.is_(None))
            ):
                if agent_id in (other.delegates_to or []):
                    other.delegates_to = [d for d in other.delegates_to if d != agent_id]
                    _bump(other, None)
            left = list(
                await session.scalars(
                    select(ConversationParticipant).where(
                        ConversationParticipant.agent_id == agent_id,
                        ConversationParticipant.is_removed.is_(False),
                    )
                )
            )
            await _forget(session, agent_id)
            # `~` is not allowed in a handle: nobody can mention or claim the tombstone's.
            agent.handle = f"~{agent.id.lower()}"
            agent.delegates_to, agent.attached_prompts, agent.tools = [], [], []
            agent.deleted_at = utcnow()
            _bump(agent, None)
        return left

    async def attached_prompts(
        self, agent_id: str, group_id: str | None = None
    ) -> list[AttachedPrompt]:
        """Prompts shaping the agent: those listed in `attached_prompts` (in order), those
        attached to the agent, then those attached to the group; each once."""
        async with self.db.read() as session:
            agent = await crud.fetch(session, Agent, agent_id)
            return await attached_prompts_in(session, agent, group_id)


async def attached_prompts_in(
    session: AsyncSession, agent: Agent, group_id: str | None = None
) -> list[AttachedPrompt]:
    """`Agents.attached_prompts` for an agent row already loaded, inside a caller's
    transaction: the listed prompts, then the agent's and the group's attachments in one query."""
    listed = [p for p in agent.attached_prompts or [] if isinstance(p, str)]
    by_id = await _prompts(session, listed)
    found = [AttachedPrompt(by_id[p], "agent") for p in listed if p in by_id]
    owners = [
        and_(Attachment.owner_type == AttachmentOwner.AGENT.value, Attachment.owner_id == agent.id)
    ]
    if group_id:
        owners.append(
            and_(
                Attachment.owner_type == AttachmentOwner.GROUP.value,
                Attachment.owner_id == group_id,
            )
        )
    rows = await session.execute(
        select(Prompt, Attachment.owner_type)
        .join(Attachment, Attachment.prompt_id == Prompt.id)
        .where(or_(*owners))
        .order_by(Attachment.created_at, Attachment.id)
    )
    attached = [(prompt, owner) for prompt, owner in rows]
    # The agent's own attachments come before the group's, each in attachment order.
    for via, owner in (
        ("agent", AttachmentOwner.AGENT.value),
        ("group", AttachmentOwner.GROUP.value),
    ):
        found += [AttachedPrompt(prompt, via) for prompt, kind in attached if kind == owner]
    seen: set[str] = set()
    unique = []
    for item in found:
        if item.prompt.id not in seen:
            seen.add(item.prompt.id)
            unique.append(item)
    return unique


def _check_fields(fields: dict[str, Any]) -> None:
    unknown = sorted(set(fields) - EDITABLE)
    if unknown:
        raise InvalidValue("agents", unknown[0], fields[unknown[0]], "an editable agent field")
    for key in ("delegates_to", "tools", "attached_prompts"):
        value = fields.get(key)
        if value is not None and (
            not isinstance(value, list) or not all(isinstance(v, str) for v in value)
        ):
            raise InvalidValue("agents", key, value, "a list of ids")


async def _check_references(
    session: AsyncSession,
    fields: dict[str, Any],
    agent_id: str | None = None,
    *,
    reader: Reader | None = None,
    agent: Agent | None = None,
) -> None:
    """Every referenced id must exist; a private prompt of someone else answers exactly like
    a missing one, so prompt ids cannot be probed (and their text never reaches this agent)."""
    for key, model in (("delegates_to", Agent), ("tools", Tool), ("attached_prompts", Prompt)):
        wanted = list(dict.fromkeys(fields.get(key) or []))
        if not wanted:
            continue
        if key == "delegates_to" and agent_id in wanted:
            raise InvalidValue(
                "agents", key, agent_id, "other agents (an agent cannot delegate to itself)"
            )
        query = select(model.id).where(model.id.in_(wanted))
        if model is Prompt and reader is not None:
            kept = set(agent.attached_prompts or []) if agent is not None else set()
            query = query.where(or_(reader.condition(), Prompt.id.in_(kept)))
        if model is Agent:
            query = query.where(Agent.deleted_at.is_(None))
        existing = set(await session.scalars(query))
        for item in wanted:
            if item not in existing:
                raise InvalidValue(
                    "agents", key, item, f"the id of an existing {model.__tablename__[:-1]}"
                )


async def _live(session: AsyncSession, agent_id: str) -> Agent:
    """The agent row, or NotFound for an unknown or deleted agent."""
    agent = await crud.fetch(session, Agent, agent_id)
    if agent.deleted_at is not None:
        raise NotFound("agents", agent_id)
    return agent


async def require_live(session: AsyncSession, table: str, agent_ids: Iterable[str | None]) -> None:
    """InvalidValue (as for an unknown id) when one of `agent_ids` names a deleted agent."""
    wanted = [a for a in agent_ids if a]
    if not wanted:
        return
    gone = await session.scalar(
        select(Agent.id).where(Agent.id.in_(wanted), Agent.deleted_at.is_not(None)).limit(1)
    )
    if gone is not None:
        raise InvalidValue(table, "agent_id", gone, "the id of an existing agent")


async def _forget(session: AsyncSession, agent_id: str) -> None:
    """What deleting the row would have cascaded to, except its place in conversations: it
    leaves them (removed, like a person who left), so its messages keep their author."""
    await session.execute(
        update(ConversationParticipant)
        .where(ConversationParticipant.agent_id == agent_id)
        .values(is_removed=True, status="removed")
    )
    for model in (AgentTool, GroupMember, Memory):
        await session.execute(delete(model).where(model.agent_id == agent_id))
    await session.execute(
        delete(Attachment).where(
            Attachment.owner_type == AttachmentOwner.AGENT.value, Attachment.owner_id == agent_id
        )
    )


def _bump(agent: Agent, updated_by: str | None) -> None:
    agent.version = (agent.version or 0) + 1
    agent.updated_at = utcnow()
    if updated_by is not None:
        agent.updated_by = updated_by


async def _ensure_free(session: AsyncSession, handle: str) -> None:
    taken = await session.scalar(select(func.count()).where(Agent.handle == handle))
    if taken:
        raise Conflict("agents", f"the handle @{handle} is taken")


async def _free_handle(session: AsyncSession, base: str) -> str:
    base = base[:60].rstrip("-")
    rows = await session.scalars(select(Agent.handle).where(Agent.handle.like(f"{base}%")))
    taken = set(rows)
    if base not in taken:
        return base
    suffix = 2
    while f"{base}-{suffix}" in taken:
        suffix += 1
    return f"{base}-{suffix}"


async def _prompts(session: AsyncSession, ids: list[str]) -> dict[str, Prompt]:
    if not ids:
        return {}
    rows = await session.scalars(select(Prompt).where(Prompt.id.in_(ids)))
    return {row.id: row for row in rows}
