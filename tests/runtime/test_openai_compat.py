"""The real `ChatOpenAI` client, through `resolve_model`, against a local compatible server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langchain_core.messages import HumanMessage
from pydantic import SecretStr

from runtime.agent_turn import AgentRunner, AgentTurnRequest
from runtime.models import resolve_model
from runtime.settings import Settings
from runtime.testing import EventRecorder
from store.db import Database
from store.tools import Tools
from tests.support import make_room
from tests.support.openai_server import OpenAIServer, ScriptedCompletion
from tools.registry import ToolRegistry


@pytest.fixture
def registry() -> ToolRegistry:
    tools = ToolRegistry()

    @tools.tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    return tools


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    script = [
        ScriptedCompletion("Let me add them. ", tool_calls=[("add", {"a": 2, "b": 3})]),
        ScriptedCompletion("The sum is 5.", prompt_tokens=30, completion_tokens=5),
    ]
    with OpenAIServer(script) as running:
        yield running


def settings_for(server: OpenAIServer, **fields: object) -> Settings:
    return Settings(
        openai_api_key=SecretStr("test-key"),
        openai_base_url=server.base_url,
        **fields,  # type: ignore[arg-type]
    )


async def test_client_streams_chunks_and_returns_a_tool_call(
    server: OpenAIServer, registry: ToolRegistry
) -> None:
    model = resolve_model("openai:local-model", settings_for(server))
    tool = {
        "type": "function",
        "function": {
            "name": "add",
            "description": "Add two numbers.",
            "parameters": registry.get("add").parameters,
        },
    }
    chunks = [c async for c in model.bind_tools([tool]).astream([HumanMessage("2 + 3?")])]
    texts = [str(c.content) for c in chunks if c.content]
    assert len(texts) > 1 and "".join(texts) == "Let me add them. "
    full = chunks[0]
    for chunk in chunks[1:]:
        full = full + chunk
    assert [(c["name"], c["args"]) for c in full.tool_calls] == [("add", {"a": 2, "b": 3})]
    assert full.usage_metadata is not None and full.usage_metadata["input_tokens"] == 11
    sent = server.requests[0]
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert sent["tools"][0]["function"]["name"] == "add"


async def test_agent_turn_over_the_openai_protocol(
    db: Database, database_url: str, server: OpenAIServer, registry: ToolRegistry
) -> None:
    settings = settings_for(server, database_url=database_url)
    room = await make_room(db, ["Ann"], [{"name": "Calc", "model": "openai:local-model"}])
    tools = Tools(db)
    await tools.sync(registry)
    await tools.grant(room.agents["calc"].id, (await tools.get_by_name("add")).id)
    await room.say("Ann", "@calc what is 2 + 3?")
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

    assert result.status == "completed", result.error
    assert result.content == events.text() == "Let me add them. \n\nThe sum is 5."
    assert len(events.of_type("delta")) > 4
    assert (result.input_tokens, result.output_tokens) == (41, 12)
    assert result.model == "openai:local-model"
    (call,) = events.of_type("tool.call")
    (outcome,) = events.of_type("tool.result")
    assert (call["tool"], call["arguments"], call["call_id"]) == (
        "add",
        {"a": 2, "b": 3},
        "call_1_0",
    )
    assert (outcome["status"], outcome["result"]) == ("ok", 5)
    first, second = server.requests
    assert first["messages"][0]["role"] == "system"
    assert first["messages"][-1] == {"role": "user", "content": "Ann: @calc what is 2 + 3?"}
    tool_message = second["messages"][-1]
    assert tool_message == {"role": "tool", "tool_call_id": "call_1_0", "content": "5"}
    assert second["messages"][-2]["tool_calls"][0]["function"]["name"] == "add"
