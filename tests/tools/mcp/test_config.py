"""Declaring MCP servers: the file's formats, `${VAR}` references, and what the API may not do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.mcp.config import (
    McpConfigError,
    McpServerConfig,
    check_api_entry,
    expand,
    load_servers_file,
)

YAML = """
servers:
  docs:
    url: https://docs.example.com/mcp
    headers:
      Authorization: Bearer ${DOCS_TOKEN}
  files:
    transport: stdio
    command: npx
    args: ["-y", "@modelcontextprotocol/server-filesystem", "/srv/shared"]
    env:
      API_KEY: ${FILES_KEY}
    tool_prefix: fs_
"""


def test_a_yaml_file_declares_http_and_stdio_servers(tmp_path: Path) -> None:
    path = tmp_path / "mcp.yaml"
    path.write_text(YAML, encoding="utf-8")
    docs, files = load_servers_file(path)
    assert (docs.name, docs.transport, docs.url) == ("docs", "http", "https://docs.example.com/mcp")
    assert docs.tool_name("search") == "docs__search"
    assert (files.transport, files.command, files.tool_name("read")) == ("stdio", "npx", "fs_read")
    assert files.resolved_env({"FILES_KEY": "k1"}) == {"API_KEY": "k1"}
    assert docs.resolved_headers({"DOCS_TOKEN": "t"}) == {"Authorization": "Bearer t"}


def test_a_json_file_may_list_servers(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"servers": [{"name": "a", "url": "http://x/mcp"}]}), "utf-8")
    (server,) = load_servers_file(path)
    assert server.name == "a" and server.enabled


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("servers: 3", "'servers' must be a mapping or a list"),
        ("other: {}", "expected a mapping with a 'servers' key"),
        ("servers:\n  a: {transport: stdio}", "a stdio server needs a command"),
        ("servers:\n  a: {url: 'http://x', command: sh}", "are for stdio servers"),
        ("servers:\n  A-b: {url: 'http://x'}", "lower-case letters"),
        ("servers:\n  a: {url: 'http://x', colour: red}", "colour"),
        ("servers: [{name: a, url: 'http://x'}, {name: a, url: 'http://y'}]", "declared twice"),
        ("servers: [", "not valid YAML"),
    ],
)
def test_bad_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "mcp.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(McpConfigError, match=message):
        load_servers_file(path)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(McpConfigError, match="cannot read MCP servers file"):
        load_servers_file(tmp_path / "absent.yaml")


def test_a_reference_to_an_unset_variable_is_an_error() -> None:
    assert expand("a ${X} b ${X}", {"X": "1"}) == "a 1 b 1"
    assert expand("no references", {}) == "no references"
    with pytest.raises(McpConfigError) as caught:
        expand("Bearer ${NOPE}", {}, where="header 'Authorization'")
    assert caught.value.code == "mcp_secret_missing"
    assert "header 'Authorization' references ${NOPE}" in str(caught.value)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"transport": "stdio", "command": "sh"}, "mcp_stdio_not_allowed"),
        ({"url": "http://x/mcp", "headers": {"X-Key": "literal"}}, "mcp_plain_secret"),
        ({"url": "http://x/mcp", "headers": {"X": "${OPENAI_API_KEY}"}}, "mcp_secret_not_allowed"),
        (
            {"url": "http://x/mcp", "headers": {"X": "${ELEVATE_MCP_SECRET_A}${HOME}"}},
            "mcp_secret_not_allowed",
        ),
    ],
)
def test_the_api_may_not_run_commands_store_secrets_or_read_other_variables(
    fields: dict[str, object], code: str
) -> None:
    config = McpServerConfig(name="s", **fields)  # type: ignore[arg-type]
    with pytest.raises(McpConfigError) as caught:
        check_api_entry(config)
    assert caught.value.code == code


def test_the_api_accepts_references_to_its_own_variables() -> None:
    config = McpServerConfig(
        name="s", url="https://x/mcp", headers={"Authorization": "Bearer ${ELEVATE_MCP_SECRET_S}"}
    )
    check_api_entry(config)
