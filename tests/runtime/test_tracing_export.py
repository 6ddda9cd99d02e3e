"""Spans leave the process through the OTLP exporter (the `otel` extra) as the standard
variables configure it: a real turn's spans reach a local OTLP/HTTP collector the test runs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from runtime import tracing
from store.db import Database
from tests.runtime.group_harness import (
    add_agent,
    add_room,
    add_user,
    offline_settings,
    open_world,
    real_runner,
)


class Collector(BaseHTTPRequestHandler):
    """Keeps every export request's body; answers as an OTLP/HTTP collector does."""

    received: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.received.append((self.path, self.headers.get("content-type", ""), body))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[str]:
    Collector.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def test_a_turn_is_exported_over_otlp_http(
    db: Database, redis_url: str | None, collector: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    environ = {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector,
        "OTEL_SERVICE_NAME": "elevate-under-test",
    }
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert tracing.wanted(environ)
    provider = tracing._sdk_provider(environ)
    tracing.use(provider)
    try:
        settings = offline_settings()
        runner = real_runner(db, settings)
        async with open_world(db, redis_url, runner=runner, settings=settings) as world:
            ann = await add_user(db, "Ann")
            helper = await add_agent(db, "helper", model="offline:default")
            room = await add_room(db, ann, agents=[helper])
            await world.post(room, ann, "hello there")
            await world.idle(room)
        assert provider.force_flush()
    finally:
        tracing.use(None)
        provider.shutdown()

    assert Collector.received, "nothing reached the collector"
    names, services = set(), set()
    for path, content_type, body in Collector.received:
        assert (path, content_type) == ("/v1/traces", "application/x-protobuf")
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            services |= {
                a.value.string_value
                for a in resource_spans.resource.attributes
                if a.key == "service.name"
            }
            for scope_spans in resource_spans.scope_spans:
                assert scope_spans.scope.name == "elevate"
                names |= {span.name for span in scope_spans.spans}
    assert services == {"elevate-under-test"}
    assert {"invoke_workflow elevate.trigger", "invoke_agent Helper", "chat default"} <= names
