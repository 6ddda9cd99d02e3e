"""What the conversation runtime reports as triggers and turns run: spans, metrics, log ids.

The runtime calls these few hooks (`trigger`, `turn_started`, `first_text`, `turn_finished`);
each one sets the log context, counts in `runtime.metrics` and, when tracing is on, opens or
ends the span in `runtime.tracing`. A turn's span and timings are kept here by turn id between
its start and its stored end.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from opentelemetry import context as otel_context

from runtime import log_context, metrics, tracing
from runtime.roster import Candidate
from tools.errors import UNKNOWN_TOOL

# Turns started and not yet ended (one that never reaches its end is forgotten past this).
MAX_OPEN_TURNS = 10_000
UNKNOWN_TOOL_LABEL = "_unknown"


@dataclass
class _Open:
    started: float
    span: Any = None
    first_text: bool = False


_open: OrderedDict[str, _Open] = OrderedDict()


@contextlib.contextmanager
def trigger(conversation_id: str, seq: int) -> Iterator[None]:
    """Around the run of one trigger: its log context and root span."""
    metrics.TRIGGERS.inc()
    token = log_context.conversation_id.set(conversation_id)
    try:
        with tracing.trigger(conversation_id, seq):
            yield
    finally:
        log_context.conversation_id.reset(token)


def turn_started(
    conversation_id: str, turn_id: str, speaker: Candidate, parent_turn_id: str | None
) -> contextvars.Context:
    """A turn has its row: count it, open its span; returns the context to run it in."""
    metrics.TURNS_STARTED.labels("delegated" if parent_turn_id else "trigger").inc()
    span = tracing.start_turn(
        conversation_id, turn_id, speaker.agent_id, speaker.name, speaker.model, parent_turn_id
    )
    _open[turn_id] = _Open(time.perf_counter(), span)
    while len(_open) > MAX_OPEN_TURNS:
        _open.popitem(last=False)
    context = contextvars.copy_context()
    context.run(log_context.conversation_id.set, conversation_id)
    context.run(log_context.turn_id.set, turn_id)
    if span is not None:
        context.run(otel_context.attach, tracing.in_span(span))
    return context


def first_text(turn_id: str) -> None:
    """The turn streamed its first text: time to first token."""
    opened = _open.get(turn_id)
    if opened is None or opened.first_text:
        return
    opened.first_text = True
    metrics.FIRST_TOKEN_SECONDS.observe(time.perf_counter() - opened.started)


def turn_finished(done: Any) -> None:
    """A turn ended (a `FinishedTurn`, about to be stored): count it, end its span."""
    status = str(done.status)
    metrics.TURNS_FINISHED.labels(status).inc()
    opened = _open.pop(done.turn_id, None)
    if opened is None:
        return
    metrics.TURN_SECONDS.labels(status).observe(time.perf_counter() - opened.started)
    if opened.span is not None:
        tracing.end_turn(opened.span, status, done.usage, done.content, done.error)


def tool_called(name: str, outcome: Any, span: Any) -> None:
    """A tool call (or hand-off) ended with `outcome` (a `ToolOutcome`). A name the model made
    up is counted as `_unknown`, so that the label's values stay the registered tools."""
    label = UNKNOWN_TOOL_LABEL if outcome.code == UNKNOWN_TOOL else name
    metrics.TOOL_CALLS.labels(label, outcome.status).inc()
    tracing.tool_outcome(span, outcome)
