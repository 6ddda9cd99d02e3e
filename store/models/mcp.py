"""MCP servers that staff declared through the API: reached by URL only, never a command."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.base import Base


class McpServer(Base):
    """A streamable-HTTP MCP server. `headers` holds `${ELEVATE_MCP_SECRET_*}` references,
    expanded from the environment when a connection opens; secret values are never stored."""

    __tablename__ = "mcp_servers"
    __table_args__ = (UniqueConstraint("name", name="uq_mcp_servers_name"),)

    name: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, Any] | None]
    tool_prefix: Mapped[str | None] = mapped_column(String(64))
    timeout_seconds: Mapped[float] = mapped_column(Float, default=10.0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime | None]
