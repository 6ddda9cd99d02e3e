"""Traces of real turns (the production runner and the offline model) seen by an in-memory
exporter: the GenAI semantic-convention names, parent and child spans through a tool call and a
delegation, message contents only when opted in, and no spans at all when tracing is off."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from runtime import tracing
from store.db import Database
from tests.runtime.group_harness import (
    add_agent,
    add_room,
    add_user,
    grant,
    offline_settings,
    open_world,
    real_runner,
)

SECRET = "my locker code is 4411"


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use(provider)
    try:
        yield exporter
    finally:
        tracing.use(None)
        provider.shutdown()


async def run_tool_and_delegation(db: Database, redis_url: str | None) -> str:
    """@planner calls `remember`, then hands a task to @scout: two triggers. Returns the room."""
    settings = offline_settings()
    async with open_world(db, redis_url, runner=real_runner(db, settings), settings=settings) as w:
        ann = await add_user(db, "Ann")
        scout = await add_agent(db, "scout", description="checks trails", model="offline:default")
        planner = await add_agent(
            db, "planner", description="plans", model="offline:default", delegates_to=[scout.id]
        )
        await grant(db, planner, "remember")
        room = await add_room(db, ann, agents=[planner])
        await w.post(room, ann, f"remember {SECRET}")
        await w.idle(room)
        await w.post(room, ann, "/delegate @scout check the north trail")
        await w.idle(room)
    return room


def by_name(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def parent_of(span: ReadableSpan, spans: tuple[ReadableSpan, ...]) -> ReadableSpan:
    assert span.parent is not None, f"{span.name} has no parent"
    found = [s for s in spans if s.context.span_id == span.parent.span_id]
    assert len(found) == 1, f"the parent of {span.name} was not exported"
    return found[0]


async def test_a_turn_with_a_tool_call_and_a_delegation_is_traced_with_genai_names(
    db: Database, redis_url: str | None, exporter: InMemorySpanExporter
) -> None:
    room = await run_tool_and_delegation(db, redis_url)
    spans = exporter.get_finished_spans()

    triggers = by_name(spans, "invoke_workflow elevate.trigger")
    assert len(triggers) == 2
    for root in triggers:
        assert root.parent is None
        assert root.attributes["gen_ai.operation.name"] == "invoke_workflow"
        assert root.attributes["gen_ai.conversation.id"] == room

    planner_turns = by_name(spans, "invoke_agent Planner")
    assert len(planner_turns) == 2
    for turn in planner_turns:
        assert parent_of(turn, spans) in triggers
        assert turn.attributes["gen_ai.operation.name"] == "invoke_agent"
        assert turn.attributes["gen_ai.agent.name"] == "Planner"
        assert turn.attributes["gen_ai.agent.id"]
        assert turn.attributes["gen_ai.conversation.id"] == room
        assert turn.attributes["gen_ai.provider.name"] == "elevate.offline"
        assert turn.attributes["gen_ai.request.model"] == "default"
        assert turn.attributes["elevate.turn.status"] == "completed"
        assert turn.attributes["gen_ai.usage.output_tokens"] > 0

    chats = by_name(spans, "chat default")
    # Planner: a call and its follow-up after the tool, twice; scout: one call.
    assert len(chats) == 5
    for chat in chats:
        assert chat.attributes["gen_ai.operation.name"] == "chat"
        assert chat.attributes["gen_ai.request.model"] == "default"
        assert chat.attributes["gen_ai.usage.input_tokens"] > 0
        assert parent_of(chat, spans).name.startswith("invoke_agent ")

    (remember,) = by_name(spans, "execute_tool remember")
    assert remember.attributes["gen_ai.operation.name"] == "execute_tool"
    assert remember.attributes["gen_ai.tool.name"] == "remember"
    assert remember.attributes["gen_ai.tool.call.id"]
    assert remember.attributes["elevate.tool.status"] == "ok"
    assert parent_of(remember, spans) in planner_turns

    (delegate,) = by_name(spans, "execute_tool delegate")
    assert delegate.attributes["gen_ai.tool.name"] == "delegate"
    (scout_turn,) = by_name(spans, "invoke_agent Scout")
    assert parent_of(scout_turn, spans) is delegate
    assert parent_of(delegate, spans) in planner_turns
    assert (
        scout_turn.attributes["elevate.turn.parent_id"]
        == (parent_of(delegate, spans).attributes["elevate.turn.id"])
    )
    assert scout_turn.context.trace_id == parent_of(delegate, spans).context.trace_id

    # Contents were not opted in: no prompt, reply, arguments or results anywhere.
    content_keys = {
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.system_instructions",
        "gen_ai.tool.call.arguments",
        "gen_ai.tool.call.result",
    }
    for span in spans:
        assert not content_keys & set(span.attributes), span.name
        assert not any(SECRET in str(v) for v in span.attributes.values()), span.name


async def test_contents_are_recorded_only_when_opted_in(
    db: Database, redis_url: str | None, exporter: InMemorySpanExporter
) -> None:
    tracing.use(tracing._state.provider, content=True)
    await run_tool_and_delegation(db, redis_url)
    spans = exporter.get_finished_spans()

    (remember,) = by_name(spans, "execute_tool remember")
    assert SECRET in json.loads(remember.attributes["gen_ai.tool.call.arguments"])["content"]
    assert "gen_ai.tool.call.result" in remember.attributes
    first_chat = by_name(spans, "chat default")[0]
    messages = json.loads(first_chat.attributes["gen_ai.input.messages"])
    assert messages[-1]["role"] == "user"
    assert SECRET in messages[-1]["parts"][0]["content"]
    assert "Planner" in first_chat.attributes["gen_ai.system_instructions"]
    output = json.loads(first_chat.attributes["gen_ai.output.messages"])
    assert output[0]["parts"][-1]["type"] == "tool_call"
    assert output[0]["parts"][-1]["name"] == "remember"


async def test_a_failed_tool_call_marks_its_span_as_an_error(
    db: Database, redis_url: str | None, exporter: InMemorySpanExporter
) -> None:
    settings = offline_settings()
    async with open_world(db, redis_url, runner=real_runner(db, settings), settings=settings) as w:
        ann = await add_user(db, "Ann")
        keeper = await add_agent(db, "keeper", model="offline:default")
        await grant(db, keeper, "remember")
        room = await add_room(db, ann, agents=[keeper])
        await w.post(room, ann, '/tool remember {"content": 12}')
        await w.idle(room)
    (call,) = by_name(exporter.get_finished_spans(), "execute_tool remember")
    assert call.attributes["error.type"] == "invalid_arguments"
    assert call.attributes["elevate.tool.status"] == "error"
    assert call.status.status_code.name == "ERROR"


async def test_nothing_is_traced_when_tracing_is_off(db: Database, redis_url: str | None) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    # The provider exists but was never handed to the runtime: tracing stays off.
    assert not tracing.enabled()
    await run_tool_and_delegation(db, redis_url)
    assert exporter.get_finished_spans() == ()
    provider.shutdown()


def test_the_standard_variables_decide_whether_traces_are_wanted() -> None:
    assert not tracing.wanted({})
    assert not tracing.wanted({"OTEL_TRACES_EXPORTER": "none"})
    assert tracing.wanted({"OTEL_TRACES_EXPORTER": "console"})
    assert tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert not tracing.wanted(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "true"}
    )


def test_an_unknown_exporter_is_a_clear_error() -> None:
    with pytest.raises(tracing.TracingConfigError, match="'zipkin2' is not supported"):
        tracing._exporter("zipkin2")


def test_model_names_split_into_provider_and_model() -> None:
    assert tracing.split_model("openai:gpt-4o-mini") == ("openai", "gpt-4o-mini")
    assert tracing.split_model("offline:default") == ("elevate.offline", "default")
    assert tracing.split_model("gpt-4o") == (None, "gpt-4o")
    assert tracing.split_model(None) == (None, None)


def test_configured_without_the_variables_tracing_stays_off() -> None:
    assert tracing.configure(environ={}) is False
    assert tracing.tracer() is None
    assert tracing.chat("offline:default", "c", []) is tracing.chat("openai:x", "d", [])
