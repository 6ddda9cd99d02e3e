"""The process's MCP servers: their connections, their tools in the registry and in `tools`.

`refresh()` reads the declared servers (the operator's file and the staff's rows), lists each
one's tools and reconciles: new tools are registered and upserted with their source
(`config: {source: "mcp", server, remote}`), changed ones replaced, and tools a server no longer
offers are retired: unregistered, marked `available: false`, and refused with
`mcp_tool_removed` if a model still calls them. Agents granted a tool that changed get a new
version, so their graphs are rebuilt on the next turn. A server that cannot be reached keeps
the tools it had (from this process or, after a restart, from their rows): calls to them fail
as tool errors (`mcp_server_unavailable`) until it answers again, retried with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Any

import mcp_types

from store.db import Database
from store.mcp_servers import McpServers
from store.models import McpServer, Tool
from store.tools import Tools
from tools.errors import ToolDefinitionError, ToolError
from tools.mcp.config import McpConfigError, McpServerConfig
from tools.mcp.connection import UNAVAILABLE, ServerConnection, ServerUnavailable
from tools.mcp.specs import UnsupportedTool, build_spec
from tools.registry import ToolRegistry

log = logging.getLogger(__name__)

SOURCE = "mcp"
TOOL_REMOVED = "mcp_tool_removed"


def row_config(server: str, remote: str, *, available: bool = True) -> dict[str, Any]:
    return {"source": SOURCE, "server": server, "remote": remote, "available": available}


def conf(row: Tool) -> dict[str, Any]:
    """A tool row's config (empty for none)."""
    return row.config or {}


def is_mcp_row(row: Tool) -> bool:
    return isinstance(row.config, dict) and conf(row).get("source") == SOURCE


def from_row(row: McpServer) -> McpServerConfig:
    """The config of a staff-declared (HTTP) server row."""
    return McpServerConfig(
        name=row.name,
        transport="http",
        url=row.url,
        headers=dict(row.headers or {}),
        tool_prefix=row.tool_prefix,
        timeout_seconds=row.timeout_seconds,
        enabled=row.enabled,
    )


class McpManager:
    """Connections to the declared servers and the sync of their tools.

    `file_servers` come from `ELEVATE_MCP_SERVERS_FILE` (the only place a stdio command may
    come from); staff rows in `mcp_servers` are read on every refresh, so a server added
    through the API in one process reaches the others within `refresh_seconds`.
    """

    def __init__(
        self,
        db: Database,
        registry: ToolRegistry,
        *,
        file_servers: Iterable[McpServerConfig] = (),
        refresh_seconds: float = 60.0,
        retry_base: float = 1.0,
        retry_max: float = 60.0,
    ) -> None:
        self.db, self.registry = db, registry
        self.tools = Tools(db)
        self.file_servers = {s.name: s for s in file_servers}
        self.refresh_seconds = refresh_seconds
        self.retry_base, self.retry_max = retry_base, retry_max
        self.connections: dict[str, ServerConnection] = {}
        self.offered: dict[str, dict[str, str]] = {}  # server -> {elevate name: remote name}
        self._refreshing = asyncio.Lock()
        self._loop: asyncio.Task[None] | None = None

    # Life cycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Sync once, then keep syncing every `refresh_seconds` in the background."""
        await self.refresh()
        if self.refresh_seconds > 0:
            self._loop = asyncio.create_task(self._refresh_loop(), name="mcp-refresh")

    async def close(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
        for connection in list(self.connections.values()):
            await connection.close()
        self.connections.clear()

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_seconds)
            try:
                await self.refresh()
            except Exception:
                log.exception("MCP refresh failed")

    # Declared servers -----------------------------------------------------------------------

    async def declared(self) -> dict[str, McpServerConfig]:
        """Every enabled server: the file's, then staff rows (a name in the file wins)."""
        servers = dict(self.file_servers)
        for row in await McpServers(self.db).list():
            if row.name in servers:
                log.warning("MCP server %r: in the file and the API; the file wins", row.name)
                continue
            try:
                servers[row.name] = from_row(row)
            except (ValueError, McpConfigError) as exc:
                log.warning("MCP server %r: unusable row: %s", row.name, exc)
        return {name: s for name, s in servers.items() if s.enabled}

    def status(self) -> dict[str, dict[str, Any]]:
        """Per server: connection state and the Elevate names of the tools it offers."""
        return {
            name: {**connection.status(), "tools": sorted(self.offered.get(name, {}))}
            for name, connection in self.connections.items()
        }

    # Sync -----------------------------------------------------------------------------------

    async def refresh(self) -> None:
        """Reconcile servers and their tools with what is declared and what they offer now."""
        async with self._refreshing:
            declared = await self.declared()
            for name in [n for n in self.connections if n not in declared]:
                await self._drop_server(name, "its MCP server is no longer declared")
            for name, config in declared.items():
                connection = self.connections.get(name)
                if connection is not None and connection.config != config:
                    await connection.close()
                    connection = None
                if connection is None:
                    connection = ServerConnection(
                        config, retry_base=self.retry_base, retry_max=self.retry_max
                    )
                    self.connections[name] = connection
                await self._sync_server(connection)

    async def refresh_server(self, name: str) -> None:
        async with self._refreshing:
            connection = self.connections.get(name)
            if connection is not None:
                await self._sync_server(connection)

    async def _sync_server(self, connection: ServerConnection) -> None:
        try:
            listed = await connection.list_tools()
        except (ServerUnavailable, TimeoutError) as exc:
            log.warning("MCP server %r: cannot list tools: %s", connection.name, exc)
            if connection.name not in self.offered:
                await self._offer_stored(connection)
            return
        await self._offer(connection, listed)

    async def _offer_stored(self, connection: ServerConnection) -> None:
        """After a restart with the server down: offer the tools its rows remember, so calls
        fail as `mcp_server_unavailable` (and work once it is back), not as unknown tools."""
        stored = [
            mcp_types.Tool(
                name=conf(row)["remote"],
                description=row.description,
                input_schema=row.parameters or {"type": "object"},
            )
            for row in await self.tools.list()
            if is_mcp_row(row)
            and conf(row).get("server") == connection.name
            and conf(row).get("available", True)
        ]
        self._register(connection, stored)

    async def _offer(self, connection: ServerConnection, listed: list[mcp_types.Tool]) -> None:
        before = dict(self.offered.get(connection.name, {}))
        offered = self._register(connection, listed)
        rows = {row.name: row for row in await self.tools.list() if is_mcp_row(row)}
        changed: list[str] = []
        for name, remote in offered.items():
            spec = self.registry.get(name)
            old = rows.get(name)
            row = await self.tools.upsert(
                name,
                description=spec.description,
                parameters=spec.parameters,
                config=row_config(connection.name, remote),
            )
            if old is None or old.parameters != row.parameters or old.config != row.config:
                changed.append(row.id)
        gone = [
            row
            for name, row in rows.items()
            if conf(row).get("server") == connection.name
            and name not in offered
            and (name in before or conf(row).get("available", True))
        ]
        for row in gone:
            self._retire(row.name, f"the MCP server {connection.name!r} no longer offers it")
            await self.tools.set_config(
                row.id, row_config(connection.name, conf(row)["remote"], available=False)
            )
            changed.append(row.id)
        await self.tools.bump_agents_granted(changed)

    def _register(
        self, connection: ServerConnection, listed: list[mcp_types.Tool]
    ) -> dict[str, str]:
        """Put the server's tools in the registry; return {elevate name: remote name}."""
        config = connection.config
        offered: dict[str, str] = {}
        for tool in listed:
            name = config.tool_name(tool.name)
            try:
                spec = build_spec(
                    name, tool, self._caller(config.name), origin=f"{config.name}/{tool.name}"
                )
                self.registry.add(spec)
            except (UnsupportedTool, ToolDefinitionError) as exc:
                log.warning("MCP server %r: tool %r left out: %s", config.name, tool.name, exc)
                continue
            offered[name] = tool.name
        for name in set(self.offered.get(config.name, {})) - set(offered):
            self._retire(name, f"the MCP server {config.name!r} no longer offers it")
        self.offered[config.name] = offered
        return offered

    def _retire(self, name: str, why: str) -> None:
        if name in self.registry and not self.registry.get(name).origin.startswith("mcp."):
            return  # a Python tool of that name is not ours to remove
        self.registry.retire(name, TOOL_REMOVED, f"tool {name!r} was removed: {why}")

    async def _drop_server(self, name: str, why: str) -> None:
        connection = self.connections.pop(name)
        await connection.close()
        for tool_name in self.offered.pop(name, {}):
            self._retire(tool_name, why)
        rows = [r for r in await self.tools.list() if is_mcp_row(r)]
        rows = [r for r in rows if conf(r).get("server") == name]
        for row in rows:
            retired = row_config(name, conf(row)["remote"], available=False)
            await self.tools.set_config(row.id, retired)
        await self.tools.bump_agents_granted([r.id for r in rows])

    # Calls ----------------------------------------------------------------------------------

    def _caller(self, server: str) -> Any:
        async def call(remote: str, arguments: dict[str, Any]) -> mcp_types.CallToolResult:
            return await self.call(server, remote, arguments)

        return call

    async def call(
        self, server: str, remote: str, arguments: dict[str, Any]
    ) -> mcp_types.CallToolResult:
        """Call a server's tool; unavailable servers and removed tools are `ToolError`s."""
        connection = self.connections.get(server)
        if connection is None:
            raise ToolError(f"the MCP server {server!r} is not declared", code=UNAVAILABLE)
        try:
            result = await connection.call_tool(remote, arguments)
        except ServerUnavailable as exc:
            raise ToolError(str(exc), code=exc.code) from None
        if result.is_error and not await self._still_offered(connection, remote):
            name = connection.config.tool_name(remote)
            raise ToolError(
                f"tool {name!r} was removed: the MCP server {server!r} no longer offers it",
                code=TOOL_REMOVED,
            )
        return result

    async def _still_offered(self, connection: ServerConnection, remote: str) -> bool:
        """After an error: is the tool still listed? If not, sync so it is retired everywhere."""
        try:
            listed = await connection.list_tools()
        except (ServerUnavailable, TimeoutError):
            return True  # cannot tell; report the tool's own error
        if any(tool.name == remote for tool in listed):
            return True
        await self._offer(connection, listed)
        return False
