"""Server spans of a live server: HTTP requests named by route (never carrying the query), a
caller's `traceparent` continued, a websocket's connection and frame spans, and the trigger's
trace linked to the `send` frame that stored its message."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from runtime import tracing
from runtime.settings import Settings
from tests.server.live import Api, LiveServer, live_server, socket

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


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


@pytest.fixture
async def server(
    exporter: InMemorySpanExporter, make_settings: Callable[..., Settings]
) -> AsyncIterator[LiveServer]:
    async with live_server(make_settings()) as live:
        yield live


async def finished(exporter: InMemorySpanExporter, name: str, count: int = 1) -> list[ReadableSpan]:
    """The finished spans called `name`, once there are `count` (a socket's span ends when the
    server has seen it close)."""
    for _ in range(500):
        found = [s for s in exporter.get_finished_spans() if s.name == name]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.01)
    raise AssertionError(f"no {count} finished span(s) {name!r}")


async def test_a_request_is_a_server_span_named_by_its_route(
    api: Api, exporter: InMemorySpanExporter
) -> None:
    alice = await api.register("Alice")
    agent = await api.ok(
        "POST", "/api/agents", alice, json={"name": "Helper", "model": "offline:default"}
    )
    traceparent = f"00-{TRACE_ID}-{PARENT_ID}-01"
    response = await api.http.get(
        f"/api/agents/{agent['id']}?token=do-not-keep-me",
        headers={**alice.headers, "traceparent": traceparent},
    )
    assert response.status_code == 200

    (span,) = await finished(exporter, "GET /api/agents/{agent_id}")
    assert span.kind == SpanKind.SERVER
    assert span.attributes["http.route"] == "/api/agents/{agent_id}"
    assert span.attributes["http.request.method"] == "GET"
    assert span.attributes["http.response.status_code"] == 200
    assert span.attributes["url.path"] == f"/api/agents/{agent['id']}"
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert format(span.parent.span_id, "016x") == PARENT_ID
    for recorded in exporter.get_finished_spans():
        assert not any("do-not-keep-me" in str(v) for v in recorded.attributes.values())

    missing = await api.http.get("/api/agents/nope", headers=alice.headers)
    assert missing.status_code == 404
    spans = await finished(exporter, "GET /api/agents/{agent_id}", 2)
    assert spans[1].attributes["http.response.status_code"] == 404
    assert "error.type" not in spans[1].attributes


async def test_a_websocket_send_is_linked_from_the_trace_of_its_trigger(
    api: Api, server: LiveServer, exporter: InMemorySpanExporter
) -> None:
    alice = await api.register("Alice")
    helper = await api.ok(
        "POST", "/api/agents", alice, json={"name": "Helper", "model": "offline:default"}
    )
    room = await api.conversation(alice, agents=(helper["id"],))
    async with socket(server, alice.token) as client:
        await client.subscribe(room["id"])
        await client.request(
            {"type": "send", "conversation_id": room["id"], "client_msg_id": "m1", "content": "hi"}
        )
        await client.until(lambda f: f["type"] == "turn.end")
        await server.services.runtime.wait_idle(room["id"])

    (connection,) = await finished(exporter, "websocket /ws")
    assert connection.kind == SpanKind.SERVER
    assert connection.attributes["network.protocol.name"] == "websocket"
    (send,) = await finished(exporter, "ws send")
    assert send.parent.span_id == connection.context.span_id
    assert send.attributes["gen_ai.conversation.id"] == room["id"]
    (subscribe,) = await finished(exporter, "ws subscribe")
    assert subscribe.parent.span_id == connection.context.span_id

    (trigger,) = await finished(exporter, "invoke_workflow elevate.trigger")
    assert trigger.parent is None
    assert [link.context.span_id for link in trigger.links] == [send.context.span_id]
    (turn,) = await finished(exporter, "invoke_agent Helper")
    assert turn.parent.span_id == trigger.context.span_id
    assert turn.attributes["gen_ai.agent.id"] == helper["id"]
