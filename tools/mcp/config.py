"""Declaring MCP servers: the operator's file (HTTP and stdio) and staff entries (HTTP only).

A server is reached by URL (streamable HTTP) or started as a command (stdio). Commands come only
from the operator's file, named by `ELEVATE_MCP_SERVERS_FILE`: a database row or an API call can
never make this process run a program. Header and environment values may reference environment
variables as `${NAME}`; they are expanded when a connection opens, so secrets stay in the
environment and are never stored. Entries made through the API may reference only variables
whose names start with `ELEVATE_MCP_SECRET_`, so staff cannot send the server's own secrets
(`ELEVATE_SECRET_KEY`, `OPENAI_API_KEY`) to a URL of their choosing.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

SERVER_NAME = re.compile(r"^[a-z][a-z0-9_]{0,23}$")
REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
API_SECRET_PREFIX = "ELEVATE_MCP_SECRET_"


class McpConfigError(ValueError):
    """A server declaration that cannot be used; `code` is stable for clients."""

    def __init__(self, message: str, *, code: str = "invalid_mcp_server") -> None:
        self.code = code
        super().__init__(message)


class McpServerConfig(BaseModel):
    """One MCP server. `transport` is `http` (give `url`) or `stdio` (give `command`).

    `tool_prefix` names its tools in Elevate (`<prefix><tool>`, default `<name>__`), so two
    servers' `search` tools do not clash with each other or with Python tools.
    `timeout_seconds` bounds connecting and listing; a call is bounded by its grant's timeout.
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    transport: Literal["http", "stdio"] = "http"
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    tool_prefix: str | None = None
    timeout_seconds: float = Field(10.0, gt=0, le=600)
    enabled: bool = True

    @model_validator(mode="after")
    def _check(self) -> McpServerConfig:
        if not SERVER_NAME.match(self.name):
            raise ValueError(
                f"server name {self.name!r} must be 1-24 lower-case letters, digits or '_', "
                "starting with a letter"
            )
        if self.transport == "http":
            if not self.url or not self.url.startswith(("http://", "https://")):
                raise ValueError(f"server {self.name!r}: an http server needs an http(s) url")
            if self.command or self.args or self.env or self.cwd:
                raise ValueError(
                    f"server {self.name!r}: command, args, env and cwd are for stdio servers"
                )
        else:
            if not self.command:
                raise ValueError(f"server {self.name!r}: a stdio server needs a command")
            if self.url or self.headers:
                raise ValueError(f"server {self.name!r}: url and headers are for http servers")
        return self

    @property
    def prefix(self) -> str:
        return f"{self.name}__" if self.tool_prefix is None else self.tool_prefix

    def tool_name(self, remote: str) -> str:
        """The Elevate name of this server's tool `remote`."""
        return f"{self.prefix}{remote}"

    def resolved_headers(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        return {k: expand(v, environ, where=f"header {k!r}") for k, v in self.headers.items()}

    def resolved_env(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        return {k: expand(v, environ, where=f"env {k!r}") for k, v in self.env.items()}


def expand(value: str, environ: Mapping[str, str] | None = None, *, where: str = "value") -> str:
    """`value` with every `${NAME}` replaced from the environment; a missing one is an error."""
    environ = os.environ if environ is None else environ

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            raise McpConfigError(
                f"{where} references ${{{name}}}, which is not set in the environment",
                code="mcp_secret_missing",
            )
        return environ[name]

    return REFERENCE.sub(substitute, value)


def check_api_entry(config: McpServerConfig) -> None:
    """Refuse what only the operator's file may declare, or what would store a secret."""
    if config.transport != "http":
        raise McpConfigError(
            "servers that run a command (stdio) can only be declared in the operator's "
            "ELEVATE_MCP_SERVERS_FILE, never through the API",
            code="mcp_stdio_not_allowed",
        )
    for header, value in config.headers.items():
        names = REFERENCE.findall(value)
        if not names:
            raise McpConfigError(
                f"header {header!r} must take its value from the environment "
                f"(e.g. 'Bearer ${{{API_SECRET_PREFIX}TOKEN}}'); values are never stored",
                code="mcp_plain_secret",
            )
        outside = [n for n in names if not n.startswith(API_SECRET_PREFIX)]
        if outside:
            raise McpConfigError(
                f"header {header!r} may only reference variables named {API_SECRET_PREFIX}*, "
                f"not {', '.join(outside)}",
                code="mcp_secret_not_allowed",
            )


def parse_servers(data: Any, *, source: str) -> list[McpServerConfig]:
    """Server configs from a parsed file: `{"servers": {name: {...}}}` or `{"servers": [...]}`."""
    if not isinstance(data, dict) or "servers" not in data:
        raise McpConfigError(f"{source}: expected a mapping with a 'servers' key")
    raw = data["servers"]
    if isinstance(raw, dict):
        entries = [{"name": name, **(body or {})} for name, body in raw.items()]
    elif isinstance(raw, list):
        entries = list(raw)
    else:
        raise McpConfigError(f"{source}: 'servers' must be a mapping or a list")
    servers, seen = [], set()
    for index, entry in enumerate(entries):
        try:
            server = McpServerConfig.model_validate(entry)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"]) or "(entry)"
            raise McpConfigError(f"{source}: server #{index + 1}: {where}: {error['msg']}") from exc
        if server.name in seen:
            raise McpConfigError(f"{source}: server name {server.name!r} is declared twice")
        seen.add(server.name)
        servers.append(server)
    return servers


def load_servers_file(path: str | Path) -> list[McpServerConfig]:
    """Read a YAML or JSON file of server declarations (by suffix; `.json` is JSON)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise McpConfigError(f"cannot read MCP servers file {str(path)!r}: {exc}") from exc
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        kind = "JSON" if path.suffix == ".json" else "YAML"
        raise McpConfigError(f"{path}: not valid {kind}: {exc}") from exc
    return parse_servers(data, source=str(path))
