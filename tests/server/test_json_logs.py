"""JSON log lines: the ids of the work they were written for (a real turn's tool logs with its
conversation, turn and trace), tokens still redacted, and the handlers switched by the setting."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from runtime import tracing
from server.json_logs import UVICORN_LOGGERS, JsonFormatter, install_json_logs
from server.log_redaction import install_redaction
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
from tools.registry import registry

TOOL_LOGGER = "tests.server.note_tool"


def note(text: str) -> str:
    """Write a note to the log and say so."""
    logging.getLogger(TOOL_LOGGER).info("noting %s", text)
    return f"noted {text}"


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """What the tool's logger writes, as JSON lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(TOOL_LOGGER)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)


@pytest.fixture
def note_tool() -> Iterator[str]:
    registry.register(note)
    try:
        yield "note"
    finally:
        registry.unregister("note")


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


async def run_note(db: Database, redis_url: str | None, tool_name: str) -> tuple[str, Any]:
    settings = offline_settings()
    async with open_world(db, redis_url, runner=real_runner(db, settings), settings=settings) as w:
        ann = await add_user(db, "Ann")
        keeper = await add_agent(db, "keeper", model="offline:default")
        await grant(db, keeper, tool_name)
        room = await add_room(db, ann, agents=[keeper])
        await w.post(room, ann, '/tool note {"text": "the gate code"}')
        await w.idle(room)
        reply = (await w.transcript(room))[-1]
    return room, reply


async def test_a_tool_log_line_carries_the_conversation_turn_and_trace(
    db: Database,
    redis_url: str | None,
    note_tool: str,
    json_lines: io.StringIO,
    exporter: InMemorySpanExporter,
) -> None:
    room, reply = await run_note(db, redis_url, note_tool)

    (line,) = [json.loads(text) for text in json_lines.getvalue().splitlines()]
    assert line["message"] == "noting the gate code"
    assert line["level"] == "info" and line["logger"] == TOOL_LOGGER
    assert line["conversation_id"] == room
    assert line["turn_id"] == reply.turn_id
    (call,) = [s for s in exporter.get_finished_spans() if s.name == "execute_tool note"]
    assert line["trace_id"] == format(call.context.trace_id, "032x")
    assert line["span_id"] == format(call.context.span_id, "016x")
    assert line["time"].endswith("+00:00")


async def test_without_tracing_the_line_still_carries_the_conversation_and_turn(
    db: Database, redis_url: str | None, note_tool: str, json_lines: io.StringIO
) -> None:
    room, reply = await run_note(db, redis_url, note_tool)
    (line,) = [json.loads(text) for text in json_lines.getvalue().splitlines()]
    assert (line["conversation_id"], line["turn_id"]) == (room, reply.turn_id)
    assert "trace_id" not in line


def test_tokens_in_request_lines_stay_redacted() -> None:
    install_redaction()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("uvicorn.access")
    access.addHandler(handler)
    level = access.level
    access.setLevel(logging.INFO)
    try:
        access.info(
            '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", "/ws?token=s3cret&x=1", "1.1", 101
        )
    finally:
        access.removeHandler(handler)
        access.setLevel(level)
    line = json.loads(stream.getvalue())
    assert "s3cret" not in stream.getvalue()
    assert "/ws?token=[redacted]&x=1" in line["message"]


def test_an_exception_is_one_json_line() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed %s", ("here",), None)
    try:
        raise ValueError("boom")
    except ValueError:
        record.exc_info = sys.exc_info()
    text = JsonFormatter().format(record)
    assert "\n" not in text
    line = json.loads(text)
    assert line["message"] == "failed here" and "ValueError: boom" in line["exception"]


def test_installing_switches_the_root_and_uvicorn_handlers_to_json() -> None:
    added = logging.StreamHandler(io.StringIO())
    uvicorn_error = logging.getLogger(UVICORN_LOGGERS[1])
    uvicorn_error.addHandler(added)
    handlers = [*logging.getLogger().handlers, added]
    kept = {id(h): h.formatter for h in handlers}
    try:
        install_json_logs()
        install_json_logs()
        assert all(isinstance(h.formatter, JsonFormatter) for h in handlers)
    finally:
        uvicorn_error.removeHandler(added)
        for handler in handlers:
            handler.setFormatter(kept[id(handler)])
