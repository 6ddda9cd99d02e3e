"""Wire models of the MCP server routes (staff only)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from server.schemas.base import In, Out


class McpServerIn(In):
    """A streamable-HTTP server. `transport: "stdio"` and `command` exist only to be refused
    with a clear code: a command can be declared only in the operator's file."""

    name: str = Field(max_length=24)
    url: str | None = Field(None, max_length=2000)
    transport: Literal["http", "stdio"] = "http"
    headers: dict[str, str] = Field(default_factory=dict, max_length=20)
    tool_prefix: str | None = Field(None, max_length=32)
    timeout_seconds: float = Field(10.0, gt=0, le=600)
    enabled: bool = True
    command: str | None = None
    args: list[str] | None = None
    env: dict[str, str] | None = None


class McpServerPublic(Out):
    """A declared server, where it was declared, and how its connection is doing.

    `headers` shows the references as declared (`Bearer ${...}`), never expanded values; a
    stdio server from the file shows its command but only the names of its `env` entries."""

    name: str
    source: Literal["file", "api"]
    transport: str
    url: str | None = None
    command: str | None = None
    args: list[str] = []
    env_names: list[str] = []
    headers: dict[str, str] = {}
    tool_prefix: str
    enabled: bool
    status: dict[str, Any] = {}
    tools: list[str] = []
