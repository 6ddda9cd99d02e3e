"""Which conversation and turn the code running now works for, for log lines to carry.

The runtime sets these context variables where a trigger and a turn start; asyncio copies them
into the tasks it starts there, so every log line written on a turn's behalf (the model call,
its tools, the stores) knows its conversation and turn, and, when tracing is on, its trace.
"""

from __future__ import annotations

import contextvars
import logging

from opentelemetry import trace

conversation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "elevate_conversation_id", default=None
)
turn_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "elevate_turn_id", default=None
)


def current() -> dict[str, str]:
    """The ids in effect: conversation, turn, and the current span's trace and span ids."""
    ids: dict[str, str] = {}
    conversation, turn = conversation_id.get(), turn_id.get()
    if conversation is not None:
        ids["conversation_id"] = conversation
    if turn is not None:
        ids["turn_id"] = turn
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        ids["trace_id"] = format(span_context.trace_id, "032x")
        ids["span_id"] = format(span_context.span_id, "016x")
    return ids


class ContextIds(logging.Filter):
    """Puts `current()` on each record it sees (as attributes), dropping none."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in current().items():
            setattr(record, key, value)
        return True
