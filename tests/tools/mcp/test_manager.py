"""MCP tools synced, granted and run through the executor, against a real MCP server."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Callable

import pytest

from store.db import Database
from store.tools import Tools
from tests.support.mcp_server import HttpMcpServer, stdio_config
from tests.tools.conftest import World
from tools import GrantConfig, ToolExecutor, grants_from_rows
from tools.mcp import McpManager, McpServerConfig
from tools.registry import ToolRegistry


@pytest.fixture
async def managers(db: Database) -> AsyncIterator[Callable[..., McpManager]]:
    """Managers on a fresh registry each, closed at the end (no background refresh)."""
    made: list[McpManager] = []

    def make(*servers: McpServerConfig, registry: ToolRegistry | None = None) -> McpManager:
        manager = McpManager(
            db,
            registry or ToolRegistry(),
            file_servers=servers,
            refresh_seconds=0,
            retry_base=0.2,
            retry_max=1.0,
        )
        made.append(manager)
        return manager

    yield make
    for manager in made:
        await manager.close()


async def executor_for(
    db: Database, world: World, manager: McpManager, grants: dict[str, dict] | None = None
) -> ToolExecutor:
    tools = Tools(db)
    for name, config in (grants or {}).items():
        await tools.grant(world.agent_id, (await tools.get_by_name(name)).id, config)
    rows = await tools.grants_for_agent(world.agent_id)
    return ToolExecutor(
        manager.registry,
        db,
        grants=grants_from_rows(rows, agent="helper", tools=manager.registry),
        context=world.context(),
        default_timeout=10,
    )


@pytest.mark.parametrize("transport", ["http", "stdio"])
async def test_tools_are_listed_synced_granted_and_called(
    db: Database, world: World, http_server: HttpMcpServer, managers, transport: str
) -> None:
    config = http_server.config("calc") if transport == "http" else stdio_config("calc")
    manager = managers(config)
    await manager.start()

    names = {f"calc__{n}" for n in ("add", "echo", "slow", "whoami", "fail", "pid", "drop")}
    assert set(manager.registry.names()) == names
    row = await Tools(db).get_by_name("calc__add")
    assert row.config == {"source": "mcp", "server": "calc", "remote": "add", "available": True}
    assert row.description == "Add two integers."
    assert row.parameters["required"] == ["a", "b"]
    assert row.parameters["properties"]["a"]["type"] == "integer"

    executor = await executor_for(
        db, world, manager, {"calc__add": {}, "calc__echo": {"fixed_args": {"shout": True}}}
    )
    schemas = {s["function"]["name"]: s["function"] for s in executor.tool_schemas()}
    assert set(schemas) == {"calc__add", "calc__echo"}
    assert "shout" not in schemas["calc__echo"]["parameters"]["properties"]

    added = await executor.call("calc__add", {"a": 2, "b": 40}, "c1")
    assert (added.status, added.result) == ("ok", "42")
    shouted = await executor.call("calc__echo", {"text": "hi", "shout": False}, "c2")
    assert shouted.result == "HI"  # the grant's fixed argument wins
    bad = await executor.call("calc__add", {"a": "two", "b": 1}, "c3")
    assert (bad.status, bad.code) == ("error", "invalid_arguments")
    assert "'a'" in (bad.error or "")
    failed = await executor.call("calc__fail", {"reason": "no"}, "c4")
    assert (failed.status, failed.code) == ("refused", "tool_not_granted")

    calls = await Tools(db).calls_for_turn(world.turn_id)
    recorded = [(c.tool_name, c.status, c.arguments, c.result) for c in calls]
    assert recorded == [
        ("calc__add", "ok", {"a": 2, "b": 40}, "42"),
        ("calc__echo", "ok", {"text": "hi", "shout": True}, "HI"),
        ("calc__add", "error", {"a": "two", "b": 1}, None),
        ("calc__fail", "refused", {"reason": "no"}, None),
    ]


async def test_a_failing_mcp_tool_is_a_tool_error(
    db: Database, world: World, http_server: HttpMcpServer, managers
) -> None:
    manager = managers(http_server.config("calc"))
    await manager.start()
    executor = await executor_for(db, world, manager, {"calc__fail": {}})
    outcome = await executor.call("calc__fail", {"reason": "bad input"}, "c1")
    assert (outcome.status, outcome.code) == ("error", "mcp_tool_error")
    assert "fail" in (outcome.error or "")


async def test_limits_and_timeouts_of_the_grant_apply(
    db: Database, world: World, http_server: HttpMcpServer, managers
) -> None:
    manager = managers(http_server.config("calc"))
    await manager.start()
    grants = {"calc__slow": {"timeout_seconds": 0.5, "max_calls_per_turn": 1}}
    executor = await executor_for(db, world, manager, grants)
    slow = await executor.call("calc__slow", {"seconds": 5}, "c1")
    assert (slow.status, slow.code) == ("timeout", "timeout")
    again = await executor.call("calc__slow", {"seconds": 0}, "c2")
    assert (again.status, again.code) == ("refused", "tool_call_limit")
    # The server is still fine after a call that was abandoned.
    executor.grants["calc__slow"] = GrantConfig()
    assert (await executor.call("calc__slow", {"seconds": 0}, "c3")).result == "waited 0 s"


@pytest.mark.parametrize("transport", ["http", "stdio"])
async def test_a_server_killed_mid_call_is_a_tool_error_then_retried(
    db: Database, world: World, http_server: HttpMcpServer, managers, transport: str
) -> None:
    config = http_server.config("calc") if transport == "http" else stdio_config("calc")
    manager = managers(config)
    await manager.start()
    executor = await executor_for(db, world, manager, {"calc__slow": {}, "calc__add": {}})
    server_pid = int((await manager.call("calc", "pid", {})).content[0].text)  # type: ignore[union-attr]

    async def kill_soon() -> None:
        await asyncio.sleep(0.5)
        if transport == "http":
            http_server.kill()
        else:
            os.kill(server_pid, signal.SIGKILL)

    killer = asyncio.create_task(kill_soon())
    outcome = await executor.call("calc__slow", {"seconds": 30}, "c1")
    await killer
    assert outcome.status == "error"
    assert outcome.code == "mcp_server_unavailable"
    assert outcome.duration_ms < 10_000
    down = await executor.call("calc__add", {"a": 1, "b": 1}, "c2")
    assert (down.status, down.code) == ("error", "mcp_server_unavailable")

    if transport == "http":
        http_server.start()
    await asyncio.sleep(1.1)  # past the backoff
    back = await executor.call("calc__add", {"a": 1, "b": 1}, "c3")
    assert (back.status, back.result) == ("ok", "2")
    assert manager.status()["calc"]["connected"] is True


async def test_a_removed_tool_leaves_grants_with_a_clear_error(
    db: Database, world: World, http_server: HttpMcpServer, managers
) -> None:
    manager = managers(http_server.config("calc"))
    await manager.start()
    executor = await executor_for(db, world, manager, {"calc__echo": {}, "calc__drop": {}})
    agent_version = await _version(db, world.agent_id)

    dropped = await executor.call("calc__drop", {"name": "echo"}, "c1")
    assert dropped.result == "dropped echo"
    # The next call finds out on its own: the server says no, and the tool is gone from the list.
    gone = await executor.call("calc__echo", {"text": "hi"}, "c2")
    assert (gone.status, gone.code) == ("error", "mcp_tool_removed")
    assert "calc__echo" not in manager.registry
    row = await Tools(db).get_by_name("calc__echo")
    assert row.config["available"] is False
    assert await _version(db, world.agent_id) > agent_version  # graphs are rebuilt

    later = await executor.call("calc__echo", {"text": "hi"}, "c3")
    assert (later.status, later.code) == ("refused", "mcp_tool_removed")
    fresh = await executor_for(db, world, manager)
    assert "calc__echo" not in {s["function"]["name"] for s in fresh.tool_schemas()}


async def test_a_refresh_retires_tools_a_server_stopped_offering(
    db: Database, world: World, http_server: HttpMcpServer, managers
) -> None:
    manager = managers(http_server.config("calc"))
    await manager.start()
    executor = await executor_for(db, world, manager, {"calc__drop": {}})
    await executor.call("calc__drop", {"name": "whoami"}, "c1")
    await manager.refresh()
    assert "calc__whoami" not in manager.registry
    assert manager.registry.retired("calc__whoami") is not None
    assert (await Tools(db).get_by_name("calc__whoami")).config["available"] is False


async def test_a_server_down_at_start_offers_its_stored_tools_as_unavailable(
    db: Database, world: World, http_server: HttpMcpServer, managers
) -> None:
    first = managers(http_server.config("calc"))
    await first.start()
    await first.close()
    http_server.kill()

    manager = managers(http_server.config("calc"))
    await manager.start()  # does not fail: the tools come from their rows
    assert "calc__add" in manager.registry
    executor = await executor_for(db, world, manager, {"calc__add": {}})
    outcome = await executor.call("calc__add", {"a": 1, "b": 2}, "c1")
    assert (outcome.status, outcome.code) == ("error", "mcp_server_unavailable")
    assert manager.status()["calc"]["failures"] >= 1


async def test_headers_come_from_the_environment(
    db: Database, world: World, http_server: HttpMcpServer, managers, monkeypatch
) -> None:
    monkeypatch.setenv("TEST_MCP_TOKEN", "s3cret")
    config = http_server.config("calc", headers={"Authorization": "Bearer ${TEST_MCP_TOKEN}"})
    manager = managers(config)
    await manager.start()
    executor = await executor_for(db, world, manager, {"calc__whoami": {}})
    assert (await executor.call("calc__whoami", {}, "c1")).result == "Bearer s3cret"
    assert "s3cret" not in str((await Tools(db).get_by_name("calc__whoami")).config)


async def test_a_missing_secret_makes_the_server_unavailable(
    db: Database, world: World, http_server: HttpMcpServer, managers, monkeypatch
) -> None:
    monkeypatch.delenv("TEST_MCP_UNSET", raising=False)
    config = http_server.config("calc", headers={"Authorization": "Bearer ${TEST_MCP_UNSET}"})
    manager = managers(config)
    await manager.start()
    status = manager.status()["calc"]
    assert status["connected"] is False
    assert "TEST_MCP_UNSET" in status["last_error"]


async def test_a_python_tool_keeps_its_name(
    db: Database, http_server: HttpMcpServer, managers
) -> None:
    registry = ToolRegistry()

    @registry.tool(name="calc__add")
    def python_add(a: int, b: int) -> int:
        """A Python tool that got the name first."""
        return a - b

    manager = managers(http_server.config("calc"), registry=registry)
    await manager.start()
    assert registry.get("calc__add").func is python_add
    assert "calc__echo" in registry


async def _version(db: Database, agent_id: str) -> int:
    from store.agents import Agents

    return (await Agents(db).get(agent_id)).version
