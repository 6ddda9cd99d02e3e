"""Databases and rooms for the benchmarks: a migrated SQLite file or a reset PostgreSQL schema,
and a user with agents in a conversation, written straight through the store."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from store.conversations import Conversations, NewParticipant
from store.db import Database
from store.enums import Role
from store.ids import new_id
from store.migrate import upgrade
from store.models import Agent, User

WORKDIR = Path(tempfile.gettempdir()) / "elevate-bench"


def is_postgres(url: str | None) -> bool:
    return bool(url) and make_url(url).get_backend_name() == "postgresql"


def _empty_file(name: str) -> Path:
    WORKDIR.mkdir(parents=True, exist_ok=True)
    path = WORKDIR / f"{name}.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


async def fresh_sqlite(name: str) -> str:
    """A new, migrated SQLite file under the bench work directory (replacing an older one)."""
    url = f"sqlite+aiosqlite:///{_empty_file(name)}"
    await upgrade(url)
    return url


async def fresh_postgres(url: str) -> str:
    """Drop and recreate the public schema of the bench's own database, then migrate it."""
    db = Database(url)
    try:
        async with db.engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await db.close()
    await upgrade(url)
    return url


def sqlite_path(url: str) -> str:
    """The file behind a `sqlite+aiosqlite:///` URL, for the raw `sqlite3` baseline."""
    database = make_url(url).database
    if not database:
        raise ValueError(f"expected a SQLite file URL, got {url!r}")
    return database


def plain_postgres_dsn(url: str) -> str:
    """A `postgresql://` DSN asyncpg accepts, from a SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class Room:
    """A conversation with one human and some agents, and the ids the benchmarks need."""

    conversation_id: str
    user_id: str
    user_participant_id: str
    agent_ids: list[str] = field(default_factory=list)
    agent_participant_ids: list[str] = field(default_factory=list)


async def create_user(db: Database, name: str = "Bench User") -> str:
    user_id = new_id()
    async with db.session() as session:
        session.add(User(id=user_id, name=name, email=f"{user_id.lower()}@bench.invalid"))
    return user_id


def unique_handles(count: int, stem: str = "bench") -> list[str]:
    """Handles no other bench agent has (the handle index is unique across the table)."""
    tail = new_id()[-8:].lower()
    return [f"{stem}{index}_{tail}" for index in range(count)]


async def create_agents(
    db: Database, models: list[str | None], owner: str, handles: list[str] | None = None
) -> list[str]:
    """One agent per entry of `models` (a `provider:model` name each)."""
    handles = handles or unique_handles(len(models))
    ids = []
    async with db.session() as session:
        for index, (model, handle) in enumerate(zip(models, handles, strict=True)):
            agent_id = new_id()
            session.add(
                Agent(
                    id=agent_id,
                    name=f"Bench agent {index}",
                    handle=handle,
                    description=f"Benchmark agent number {index}.",
                    model=model,
                    system_prompt="You answer briefly.",
                    created_by=owner,
                )
            )
            ids.append(agent_id)
    return ids


async def create_room(
    db: Database,
    *,
    agents: int = 1,
    model: str | None = None,
    models: list[str | None] | None = None,
    handles: list[str] | None = None,
    policy: dict[str, object] | None = None,
    user_id: str | None = None,
    agent_ids: list[str] | None = None,
) -> Room:
    """A conversation owned by a (new) user, with agents as members: the given `agent_ids`, or
    new ones (`agents` of them on `model`, or one per entry of `models`)."""
    user_id = user_id or await create_user(db)
    models = models if models is not None else [model] * agents
    if agent_ids is None:
        agent_ids = await create_agents(db, models, user_id, handles) if models else []
    conversations = Conversations(db)
    conversation = await conversations.create(
        "Benchmark room",
        user_id,
        policy=policy,
        participants=[NewParticipant(agent_id=a, role=Role.MEMBER.value) for a in agent_ids],
    )
    participants = await conversations.participants(conversation.id)
    by_agent = {p.agent_id: p.id for p in participants if p.agent_id}
    human = next(p.id for p in participants if p.user_id == user_id)
    return Room(conversation.id, user_id, human, agent_ids, [by_agent[a] for a in agent_ids])
