"""MCP servers as tool sources: staff list them, and declare or remove streamable-HTTP ones.

A server that runs a command (stdio) can be declared only in the operator's file
(`ELEVATE_MCP_SERVERS_FILE`): a request, or a row it leaves, never makes this process start a
program. Header values must be `${ELEVATE_MCP_SECRET_*}` references, expanded from the
environment when a connection opens, so no secret is stored.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from server.deps import CurrentUser, DatabaseDep, ServicesDep
from server.errors import ApiError, forbidden, not_found
from server.schemas.mcp import McpServerIn, McpServerPublic
from store.errors import Conflict, NotFound
from store.mcp_servers import McpServers
from store.models import User
from tools.mcp.config import McpConfigError, McpServerConfig, check_api_entry

router = APIRouter(prefix="/api/mcp", tags=["mcp"])


def _staff(user: User) -> None:
    if not user.is_staff:
        raise forbidden("only staff may see or declare MCP servers")


def _manager(services: Any) -> Any:
    if services.mcp is None:
        raise ApiError(503, "mcp_unavailable", "MCP servers are not running in this process")
    return services.mcp


def _public(config: McpServerConfig, source: str, manager: Any) -> McpServerPublic:
    state = manager.status().get(config.name, {})
    return McpServerPublic(
        name=config.name,
        source=source,  # type: ignore[arg-type]
        transport=config.transport,
        url=config.url,
        command=config.command,
        args=config.args,
        env_names=sorted(config.env),
        headers=config.headers,
        tool_prefix=config.prefix,
        enabled=config.enabled,
        status={k: v for k, v in state.items() if k != "tools"},
        tools=state.get("tools", []),
    )


@router.get("/servers", response_model=list[McpServerPublic])
async def list_servers(
    user: CurrentUser, services: ServicesDep, db: DatabaseDep
) -> list[McpServerPublic]:
    _staff(user)
    manager = _manager(services)
    from tools.mcp.manager import from_row

    servers = [_public(c, "file", manager) for c in manager.file_servers.values()]
    for row in await McpServers(db).list():
        if row.name not in manager.file_servers:
            servers.append(_public(from_row(row), "api", manager))
    return sorted(servers, key=lambda s: s.name)


@router.post("/servers", response_model=McpServerPublic, status_code=status.HTTP_201_CREATED)
async def create_server(
    body: McpServerIn, user: CurrentUser, services: ServicesDep, db: DatabaseDep
) -> McpServerPublic:
    """Declare a streamable-HTTP server; its tools are listed and synced before the answer."""
    _staff(user)
    manager = _manager(services)
    config = _checked(body)
    if config.name in manager.file_servers:
        raise ApiError(409, "conflict", f"MCP server {config.name!r} is declared in the file")
    try:
        await McpServers(db).create(
            name=config.name,
            url=config.url,
            headers=config.headers,
            tool_prefix=config.tool_prefix,
            timeout_seconds=config.timeout_seconds,
            enabled=config.enabled,
            created_by=user.id,
        )
    except Conflict:
        raise ApiError(409, "conflict", f"an MCP server named {config.name!r} exists") from None
    await manager.refresh()
    return _public(config, "api", manager)


@router.post("/servers/{name}/refresh", response_model=McpServerPublic)
async def refresh_server(
    name: str, user: CurrentUser, services: ServicesDep, db: DatabaseDep
) -> McpServerPublic:
    """List the server's tools again now (instead of at the next periodic refresh)."""
    _staff(user)
    manager = _manager(services)
    await manager.refresh()
    declared = await manager.declared()
    if name not in declared:
        raise not_found("MCP server")
    source = "file" if name in manager.file_servers else "api"
    return _public(declared[name], source, manager)


@router.delete("/servers/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_server(
    name: str, user: CurrentUser, services: ServicesDep, db: DatabaseDep
) -> Response:
    """Remove a staff-declared server; its tools are retired (grants stay, calls are refused)."""
    _staff(user)
    manager = _manager(services)
    if name in manager.file_servers:
        raise ApiError(409, "mcp_server_in_file", f"MCP server {name!r} is declared in the file")
    try:
        await McpServers(db).delete(name)
    except NotFound:
        raise not_found("MCP server") from None
    await manager.refresh()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _checked(body: McpServerIn) -> McpServerConfig:
    if body.transport == "stdio" or body.command or body.args or body.env:
        raise ApiError(
            422,
            "mcp_stdio_not_allowed",
            "servers that run a command (stdio) can only be declared in the operator's "
            "ELEVATE_MCP_SERVERS_FILE, never through the API",
        )
    try:
        config = McpServerConfig(
            name=body.name,
            transport="http",
            url=body.url,
            headers=body.headers,
            tool_prefix=body.tool_prefix,
            timeout_seconds=body.timeout_seconds,
            enabled=body.enabled,
        )
        check_api_entry(config)
    except McpConfigError as exc:
        raise ApiError(422, exc.code, str(exc)) from None
    except ValueError as exc:
        raise ApiError(422, "invalid_mcp_server", _first(exc)) from None
    return config


def _first(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        return str(errors()[0]["msg"]).removeprefix("Value error, ")
    return str(exc)
