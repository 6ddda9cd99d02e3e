"""The MCP server routes over a live server: staff only, HTTP only, secrets by reference.

A real MCP server (the test app over streamable HTTP) answers, so declaring one through the API
lists its tools at once; the operator's file declares a stdio server beside it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from store import crud
from store.models import User as UserRow
from tests.server.live import Api, User
from tests.support.mcp_server import HttpMcpServer, running_http_server, stdio_config


@pytest.fixture
def http_server() -> Iterator[HttpMcpServer]:
    with running_http_server() as server:
        yield server


@pytest.fixture
def settings_overrides(tmp_path: Path) -> dict[str, Any]:
    """A file with one stdio server, as an operator would write it."""
    local = stdio_config("local").model_dump(exclude_defaults=True)
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"servers": [local]}), encoding="utf-8")
    return {"mcp_servers_file": str(path), "mcp_refresh_seconds": 0}


async def _staff(api: Api) -> User:
    staff = await api.register("Owner")
    await crud.update(api.server.services.db, UserRow, staff.id, is_staff=True)
    return staff


async def test_the_files_stdio_server_is_synced_at_start(api: Api) -> None:
    staff = await _staff(api)
    names = {t["name"] for t in await api.ok("GET", "/api/tools", staff)}
    assert {"local__add", "local__echo"} <= names
    (server,) = await api.ok("GET", "/api/mcp/servers", staff)
    assert (server["name"], server["source"], server["transport"]) == ("local", "file", "stdio")
    assert server["env_names"] == ["PYTHONPATH"]
    assert server["status"]["connected"] is True
    assert "local__add" in server["tools"]


async def test_staff_declare_an_http_server_and_its_tools_appear(
    api: Api, http_server: HttpMcpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ELEVATE_MCP_SECRET_CALC", "s3cret")
    staff = await _staff(api)
    body = {
        "name": "calc",
        "url": http_server.url,
        "headers": {"Authorization": "Bearer ${ELEVATE_MCP_SECRET_CALC}"},
    }
    created = await api.ok("POST", "/api/mcp/servers", staff, json=body)
    assert created["source"] == "api" and created["status"]["connected"] is True
    assert created["headers"] == {"Authorization": "Bearer ${ELEVATE_MCP_SECRET_CALC}"}
    assert "calc__whoami" in created["tools"]
    tools = {t["name"]: t for t in await api.ok("GET", "/api/tools", staff)}
    assert tools["calc__add"]["config"]["source"] == "mcp"
    stored = await _stored_headers(api, "calc")
    assert stored == {"Authorization": "Bearer ${ELEVATE_MCP_SECRET_CALC}"}  # never the value
    again = await api.call("POST", "/api/mcp/servers", staff, json=body)
    assert (again.status_code, again.json()["code"]) == (409, "conflict")

    deleted = await api.call("DELETE", "/api/mcp/servers/calc", staff)
    assert deleted.status_code == 204
    tools = {t["name"]: t for t in await api.ok("GET", "/api/tools", staff)}
    assert tools["calc__add"]["config"]["available"] is False


async def test_people_who_are_not_staff_get_403(api: Api, http_server: HttpMcpServer) -> None:
    student = await api.register("Student")
    body = {"name": "calc", "url": http_server.url}
    for method, path, kw in [
        ("GET", "/api/mcp/servers", {}),
        ("POST", "/api/mcp/servers", {"json": body}),
        ("DELETE", "/api/mcp/servers/local", {}),
        ("POST", "/api/mcp/servers/local/refresh", {}),
    ]:
        response = await api.call(method, path, student, **kw)
        assert (response.status_code, response.json()["code"]) == (403, "forbidden"), path
    assert (await api.call("GET", "/api/mcp/servers")).status_code == 401


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"name": "evil", "transport": "stdio", "command": "sh"}, "mcp_stdio_not_allowed"),
        (
            {"name": "evil", "url": "http://127.0.0.1:1/mcp", "command": "sh"},
            "mcp_stdio_not_allowed",
        ),
        (
            {"name": "leak", "url": "http://127.0.0.1:1/mcp", "headers": {"X-Key": "plain"}},
            "mcp_plain_secret",
        ),
        (
            {
                "name": "leak",
                "url": "http://127.0.0.1:1/mcp",
                "headers": {"X-Key": "${ELEVATE_SECRET_KEY}"},
            },
            "mcp_secret_not_allowed",
        ),
        ({"name": "Bad Name", "url": "http://127.0.0.1:1/mcp"}, "invalid_mcp_server"),
        ({"name": "ftp", "url": "ftp://example.com/mcp"}, "invalid_mcp_server"),
    ],
)
async def test_bad_declarations_are_refused_with_a_clear_code(
    api: Api, body: dict[str, Any], code: str
) -> None:
    staff = await _staff(api)
    response = await api.call("POST", "/api/mcp/servers", staff, json=body)
    assert (response.status_code, response.json()["code"]) == (422, code), response.text
    assert [s["name"] for s in await api.ok("GET", "/api/mcp/servers", staff)] == ["local"]


async def test_the_files_servers_cannot_be_removed_or_shadowed_through_the_api(
    api: Api, http_server: HttpMcpServer
) -> None:
    staff = await _staff(api)
    response = await api.call("DELETE", "/api/mcp/servers/local", staff)
    assert (response.status_code, response.json()["code"]) == (409, "mcp_server_in_file")
    shadow = {"name": "local", "url": http_server.url}
    response = await api.call("POST", "/api/mcp/servers", staff, json=shadow)
    assert response.status_code == 409
    missing = await api.call("DELETE", "/api/mcp/servers/nothing", staff)
    assert missing.status_code == 404


async def _stored_headers(api: Api, name: str) -> dict[str, str]:
    from store.mcp_servers import McpServers

    return dict((await McpServers(api.server.services.db).get(name)).headers or {})
