"""Everything a running server holds: database, bus, lock, presence, the conversation runtime.

`open_services` is the app's lifespan body: it migrates a database that is empty or behind,
syncs the tool registry, ensures the built-in agents, starts the runtime, and on exit closes
everything in reverse order.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from runtime.bus import EventBus, create_bus
from runtime.locks import TurnLock, create_lock
from runtime.presence import Presence, create_presence
from runtime.settings import Settings
from server.login_limits import LoginLimits
from server.ratelimit import create_failures
from store.blobs import create_blob_store
from store.db import Database
from store.migrate import current_revision, head_revision, upgrade

log = logging.getLogger(__name__)


@dataclass
class Services:
    """The long-lived objects of one server process."""

    settings: Settings
    db: Database
    bus: EventBus
    lock: TurnLock
    presence: Presence
    runtime: Any
    login_limits: LoginLimits
    hub: Any = None
    sockets: Any = None
    playbook: Any = None
    blobs: Any = None
    user_feed: Any = None
    activity: Any = None
    mcp: Any = None


async def migrate_if_needed(url: str) -> bool:
    """Upgrade the database at `url` to head when it is empty or behind; True if it ran."""
    if await current_revision(url) == head_revision():
        return False
    log.info("migrating database to %s", head_revision())
    await upgrade(url)
    return True


async def load_catalogue(db: Database, settings: Settings) -> None:
    """Sync the registered tools (entry points, `ELEVATE_TOOL_MODULES`) into the database and
    ensure the built-in agents and the Elevate course (modules, prompts, step agents) exist."""
    from agents.builtin import ensure_builtin_agents
    from agents.course import ensure_course
    from store.tools import Tools
    from tools.registry import load_all

    await Tools(db).sync(load_all(settings.tool_modules or None))
    await ensure_builtin_agents(db)
    await ensure_course(db)


@contextlib.asynccontextmanager
async def open_mcp(db: Database, settings: Settings, registry: Any) -> AsyncIterator[Any]:
    """The MCP servers' tools, synced into the registry and `tools` (see `tools.mcp`)."""
    from tools.mcp import McpManager, load_servers_file

    servers = load_servers_file(settings.mcp_servers_file) if settings.mcp_servers_file else []
    manager = McpManager(
        db,
        registry,
        file_servers=servers,
        refresh_seconds=settings.mcp_refresh_seconds,
        retry_base=settings.mcp_retry_base_seconds,
        retry_max=settings.mcp_retry_max_seconds,
    )
    await manager.start()
    try:
        yield manager
    finally:
        await manager.close()


@contextlib.asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    """Open, start and finally close every backend for one server process."""
    from runtime.agent_turn import AgentRunner
    from runtime.checkpoints import open_checkpointer
    from runtime.conversation import ConversationRuntime
    from runtime.embeddings import attach_embedder
    from runtime.playbook import PlaybookRunner
    from runtime.room_activity import RoomActivity
    from server.ws.hub import Hub
    from server.ws.sockets import Sockets
    from server.ws.user_feed import UserFeed
    from tools.registry import registry

    url = settings.resolved_database_url
    await migrate_if_needed(url)
    async with contextlib.AsyncExitStack() as stack:
        db = Database(url)
        stack.push_async_callback(db.close)
        attach_embedder(db, settings)
        await load_catalogue(db, settings)
        mcp = await stack.enter_async_context(open_mcp(db, settings, registry))
        bus = create_bus(settings.redis_url, settings.send_queue_size)
        await bus.start()
        stack.push_async_callback(bus.close)
        lock = create_lock(settings.redis_url)
        stack.push_async_callback(lock.close)
        presence = create_presence(settings.redis_url)
        stack.push_async_callback(presence.close)
        checkpointer = await stack.enter_async_context(open_checkpointer(settings))
        runner = AgentRunner(db, settings, registry, checkpointer=checkpointer)
        runtime = ConversationRuntime(db, settings, bus, lock, runner)
        await runtime.start()
        stack.push_async_callback(runtime.close)
        failures = create_failures(settings.redis_url)
        stack.push_async_callback(failures.close)
        services = Services(settings, db, bus, lock, presence, runtime, LoginLimits(failures))
        services.mcp = mcp
        services.playbook = PlaybookRunner(db, settings, bus)
        stack.push_async_callback(services.playbook.close)
        services.activity = RoomActivity(db, bus, presence)
        runtime.message_listeners.append(services.activity.message_stored)
        stack.push_async_callback(services.activity.close)
        services.user_feed = UserFeed(bus)
        services.hub = Hub(services)
        stack.push_async_callback(services.hub.close)
        services.sockets = Sockets(services)
        await services.sockets.start()
        stack.push_async_callback(services.sockets.close)
        services.blobs = create_blob_store(settings.storage_url, settings.data_dir)
        stack.push_async_callback(services.blobs.close)
        yield services
