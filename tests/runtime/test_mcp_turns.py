"""Agent turns that call an MCP server's tools: the offline model and the real OpenAI client.

The MCP server is real (the SDK's FastMCP, started by the test as a process over streamable
HTTP or as a stdio command); the OpenAI-compatible endpoint is the local test server.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from runtime.agent_turn import AgentRunner, AgentTurnRequest, AgentTurnResult
from runtime.settings import Settings
from runtime.testing import EventRecorder
from store.db import Database
from store.tools import Tools
from tests.support import Room, make_room
from tests.support.mcp_server import HttpMcpServer, running_http_server, stdio_config
from tests.support.openai_server import OpenAIServer, ScriptedCompletion
from tools.mcp import McpManager, McpServerConfig
from tools.registry import ToolRegistry


@pytest.fixture
def http_server() -> Iterator[HttpMcpServer]:
    with running_http_server() as server:
        yield server


@pytest.fixture
async def registry() -> ToolRegistry:
    return ToolRegistry()


@pytest.fixture
async def open_manager(db: Database, registry: ToolRegistry) -> AsyncIterator[Any]:
    made: list[McpManager] = []

    async def start(config: McpServerConfig) -> McpManager:
        manager = McpManager(db, registry, file_servers=[config], refresh_seconds=0, retry_base=0.2)
        made.append(manager)
        await manager.start()
        return manager

    yield start
    for manager in made:
        await manager.close()


async def room_with_grants(db: Database, model: str, *tools: str) -> Room:
    room = await make_room(db, ["Ann"], [{"name": "Calc", "model": model}])
    store = Tools(db)
    for name in tools:
        await store.grant(room.agents["calc"].id, (await store.get_by_name(name)).id)
    return room


async def run_turn(
    db: Database, settings: Settings, registry: ToolRegistry, room: Room, text: str
) -> tuple[AgentTurnResult, EventRecorder, str]:
    await room.say("Ann", text)
    turn_id = await room.start_turn("calc")
    events = EventRecorder()
    result = await AgentRunner(db, settings, registry).run(
        AgentTurnRequest(
            conversation_id=room.conversation_id,
            turn_id=turn_id,
            agent_id=room.agents["calc"].id,
            user_id=room.users["Ann"].id,
            group_id=None,
            emit=events,
        )
    )
    return result, events, turn_id


@pytest.mark.parametrize("transport", ["http", "stdio"])
async def test_the_offline_model_calls_an_mcp_tool(
    db: Database,
    database_url: str,
    registry: ToolRegistry,
    http_server: HttpMcpServer,
    open_manager: Any,
    transport: str,
) -> None:
    config = http_server.config("calc") if transport == "http" else stdio_config("calc")
    await open_manager(config)
    room = await room_with_grants(db, "offline:default", "calc__add")
    settings = Settings(database_url=database_url, environment="test")

    result, events, turn_id = await run_turn(
        db, settings, registry, room, '@calc /tool calc__add {"a": 19, "b": 23}'
    )

    assert result.status == "completed", result.error
    (call,) = events.of_type("tool.call")
    (outcome,) = events.of_type("tool.result")
    assert (call["tool"], call["arguments"]) == ("calc__add", {"a": 19, "b": 23})
    assert (outcome["status"], outcome["result"]) == ("ok", "42")
    assert "42" in result.content
    (row,) = await Tools(db).calls_for_turn(turn_id)
    assert (row.tool_name, row.status, row.result, row.agent_id) == (
        "calc__add",
        "ok",
        "42",
        room.agents["calc"].id,
    )


async def test_an_ungranted_mcp_tool_is_not_offered_to_the_model(
    db: Database,
    database_url: str,
    registry: ToolRegistry,
    http_server: HttpMcpServer,
    open_manager: Any,
) -> None:
    await open_manager(http_server.config("calc"))
    room = await room_with_grants(db, "offline:default", "calc__add")
    settings = Settings(database_url=database_url, environment="test")
    result, events, turn_id = await run_turn(
        db, settings, registry, room, '@calc /tool calc__echo {"text": "hi"}'
    )
    assert result.status == "completed"
    assert events.of_type("tool.call") == []  # not bound, so the model cannot ask for it
    assert await Tools(db).calls_for_turn(turn_id) == []


def openai_settings(server: OpenAIServer, database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        environment="test",
        openai_api_key=SecretStr("test-key"),
        openai_base_url=server.base_url,
    )


async def test_the_openai_client_calls_an_mcp_tool_and_reads_its_result(
    db: Database,
    database_url: str,
    registry: ToolRegistry,
    http_server: HttpMcpServer,
    open_manager: Any,
) -> None:
    await open_manager(http_server.config("calc"))
    room = await room_with_grants(db, "openai:local-model", "calc__add", "calc__echo")
    script = [
        ScriptedCompletion(
            "Working. ",
            tool_calls=[("calc__add", {"a": 2, "b": 3}), ("calc__fail", {"reason": "x"})],
        ),
        ScriptedCompletion("The sum is 5."),
    ]
    with OpenAIServer(script) as server:
        settings = openai_settings(server, database_url)
        result, events, turn_id = await run_turn(db, settings, registry, room, "@calc 2 + 3?")

    assert result.status == "completed", result.error
    assert result.content == "Working. \n\nThe sum is 5."
    offered = {t["function"]["name"] for t in server.requests[0]["tools"]}
    assert offered == {"calc__add", "calc__echo"}
    assert server.requests[0]["tools"][0]["function"]["parameters"]["required"] == ["a", "b"]
    outcomes = [(o["tool"], o["status"], o.get("code")) for o in events.of_type("tool.result")]
    assert outcomes == [("calc__add", "ok", None), ("calc__fail", "refused", "tool_not_granted")]
    tool_messages = [m for m in server.requests[1]["messages"] if m["role"] == "tool"]
    assert tool_messages[0]["content"] == "5"
    assert "tool_not_granted" in tool_messages[1]["content"]
    rows = await Tools(db).calls_for_turn(turn_id)
    assert [(r.tool_name, r.status) for r in rows] == [
        ("calc__add", "ok"),
        ("calc__fail", "refused"),
    ]


@pytest.mark.parametrize("transport", ["http", "stdio"])
async def test_a_server_killed_mid_call_gives_a_tool_error_and_the_turn_completes(
    db: Database,
    database_url: str,
    registry: ToolRegistry,
    http_server: HttpMcpServer,
    open_manager: Any,
    transport: str,
) -> None:
    config = http_server.config("calc") if transport == "http" else stdio_config("calc")
    manager = await open_manager(config)
    server_pid = int(json.loads((await manager.call("calc", "pid", {})).content[0].text))
    room = await room_with_grants(db, "openai:local-model", "calc__slow")
    script = [
        ScriptedCompletion("Waiting. ", tool_calls=[("calc__slow", {"seconds": 60})]),
        ScriptedCompletion("The server went away."),
    ]

    async def kill_soon() -> None:
        await asyncio.sleep(1.0)
        if transport == "http":
            http_server.kill()
        else:
            os.kill(server_pid, signal.SIGKILL)

    with OpenAIServer(script) as server:
        settings = openai_settings(server, database_url)
        killer = asyncio.create_task(kill_soon())
        result, events, turn_id = await run_turn(db, settings, registry, room, "@calc wait")
        await killer

    assert result.status == "completed", result.error
    assert result.content == "Waiting. \n\nThe server went away."
    (outcome,) = events.of_type("tool.result")
    assert (outcome["status"], outcome["code"]) == ("error", "mcp_server_unavailable")
    tool_message = next(m for m in server.requests[1]["messages"] if m["role"] == "tool")
    assert "unavailable" in tool_message["content"]
    (row,) = await Tools(db).calls_for_turn(turn_id)
    assert row.status == "error" and row.error.startswith("mcp_server_unavailable")


async def test_a_tool_removed_from_the_server_disappears_from_the_agent(
    db: Database,
    database_url: str,
    registry: ToolRegistry,
    http_server: HttpMcpServer,
    open_manager: Any,
) -> None:
    manager = await open_manager(http_server.config("calc"))
    room = await room_with_grants(db, "openai:local-model", "calc__add", "calc__echo")
    await manager.call("calc", "drop", {"name": "echo"})
    await manager.refresh()
    script = [
        ScriptedCompletion("Trying. ", tool_calls=[("calc__echo", {"text": "hi"})]),
        ScriptedCompletion("It is gone."),
    ]
    with OpenAIServer(script) as server:
        settings = openai_settings(server, database_url)
        result, events, _ = await run_turn(db, settings, registry, room, "@calc echo hi")

    assert result.status == "completed", result.error
    offered = {t["function"]["name"] for t in server.requests[0]["tools"]}
    assert offered == {"calc__add"}  # the agent still compiles; the removed tool is not offered
    (outcome,) = events.of_type("tool.result")
    assert (outcome["status"], outcome["code"]) == ("refused", "mcp_tool_removed")
