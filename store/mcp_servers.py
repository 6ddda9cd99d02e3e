"""MCP servers declared by staff through the API (streamable HTTP only; see `tools.mcp`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from store import crud
from store.base import utcnow
from store.db import Database
from store.errors import Conflict, NotFound
from store.models import McpServer


class McpServers:
    """Repository of `mcp_servers`, by name."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def list(self) -> list[McpServer]:
        return await crud.scalars(self.db, select(McpServer).order_by(McpServer.name))

    async def get(self, name: str) -> McpServer:
        row = await crud.first(self.db, select(McpServer).where(McpServer.name == name))
        if row is None:
            raise NotFound("mcp_servers", name, "name")
        return row

    async def create(self, *, created_by: str | None = None, **fields: Any) -> McpServer:
        """A new server; Conflict if the name is taken."""
        try:
            return await crud.insert(
                self.db, crud.build(McpServer, created_by=created_by, **fields)
            )
        except Conflict as exc:
            raise Conflict(
                "mcp_servers", f"an MCP server named {fields.get('name')!r} exists"
            ) from exc

    async def update(self, name: str, **fields: Any) -> McpServer:
        async with self.db.session() as session:
            row = await session.scalar(select(McpServer).where(McpServer.name == name))
            if row is None:
                raise NotFound("mcp_servers", name, "name")
            crud.assign(row, **fields, updated_at=utcnow())
        return row

    async def delete(self, name: str) -> None:
        async with self.db.session() as session:
            row = await session.scalar(select(McpServer).where(McpServer.name == name))
            if row is None:
                raise NotFound("mcp_servers", name, "name")
            await session.delete(row)
