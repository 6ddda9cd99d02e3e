"""Traces of triggers, agent turns, model calls and tool calls (OpenTelemetry GenAI conventions).

One trigger (a human message owed an answer) is a root span `invoke_workflow elevate.trigger`;
each agent turn under it is `invoke_agent {agent name}`, each model call in a turn
`chat {model}`, each tool call `execute_tool {tool}`. A delegated turn is the child of the
`execute_tool delegate` call that handed it over. Attribute names are the GenAI semantic
conventions' (`gen_ai.operation.name`, `gen_ai.request.model`, `gen_ai.usage.input_tokens`,
`gen_ai.agent.name`, `gen_ai.tool.name`, `gen_ai.conversation.id`, ...); message contents are
recorded only when `ELEVATE_TRACE_CONTENT` opts in, since they hold what people wrote.

Tracing is off unless the standard `OTEL_*` variables ask for an exporter (see `configure`).
Off, every helper here returns a shared no-op context manager before building anything, so a
turn pays a few attribute look-ups and nothing more.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode, Tracer

TRACER_NAME = "elevate"
WORKFLOW = "elevate.trigger"
# Causes kept for triggers not yet run (a message whose span should link its trigger's trace).
MAX_CAUSES = 1024
# Contents recorded on a span are cut to this many characters each.
MAX_CONTENT_CHARS = 4000
PROVIDERS = {"openai": "openai", "offline": "elevate.offline", "scripted": "elevate.scripted"}
EXPORTERS_NEEDING_EXTRA = {"otlp": "opentelemetry-exporter-otlp-proto-http"}

_NULL: AbstractContextManager[None] = contextlib.nullcontext()


@dataclass
class _State:
    tracer: Tracer | None = None
    content: bool = False
    provider: Any = None


_state = _State()
_causes: OrderedDict[tuple[str, int], trace.SpanContext] = OrderedDict()


class TracingConfigError(RuntimeError):
    """The `OTEL_*` variables ask for something this installation cannot do."""


# Switching on and off.


def use(provider: Any | None, *, content: bool = False) -> None:
    """Trace through `provider` (an SDK `TracerProvider`); None stops tracing."""
    _state.provider = provider
    _state.tracer = provider.get_tracer(TRACER_NAME) if provider is not None else None
    _state.content = content and provider is not None
    _causes.clear()


def enabled() -> bool:
    return _state.tracer is not None


def tracer() -> Tracer | None:
    """This process's tracer, or None while tracing is off."""
    return _state.tracer


def wanted(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the standard variables ask for traces: an exporter other than `none`, or an
    OTLP endpoint; `OTEL_SDK_DISABLED=true` wins over both."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = _exporter_names(environ)
    if exporters:
        return exporters != ["none"]
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def configure(*, content: bool = False, environ: Mapping[str, str] = os.environ) -> bool:
    """Start tracing as the `OTEL_*` variables say, once per process; True if tracing is on.

    A provider installed by someone else (for example `opentelemetry-instrument`) is used as it
    is. Otherwise, when `wanted`, an SDK provider is built: resource from `OTEL_SERVICE_NAME`
    and `OTEL_RESOURCE_ATTRIBUTES`, sampler from `OTEL_TRACES_SAMPLER`, batch settings from
    `OTEL_BSP_*`, exporters from `OTEL_TRACES_EXPORTER` (`otlp`, the default when an endpoint is
    set, needs the `otel` extra; `console` prints spans).
    """
    if _state.tracer is not None:
        return True
    existing = trace.get_tracer_provider()
    if not isinstance(existing, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
        use(existing, content=content)
        return True
    if not wanted(environ):
        return False
    provider = _sdk_provider(environ)
    trace.set_tracer_provider(provider)
    use(provider, content=content)
    return True


def flush() -> None:
    """Export what is buffered (at shutdown)."""
    force_flush = getattr(_state.provider, "force_flush", None)
    if force_flush is not None:
        force_flush()


def _exporter_names(environ: Mapping[str, str]) -> list[str]:
    raw = environ.get("OTEL_TRACES_EXPORTER", "")
    return [name.strip().lower() for name in raw.split(",") if name.strip()]


def _sdk_provider(environ: Mapping[str, str]) -> Any:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": environ.get("OTEL_SERVICE_NAME") or "elevate"})
    provider = TracerProvider(resource=resource)
    for name in [n for n in _exporter_names(environ) or ["otlp"] if n != "none"]:
        provider.add_span_processor(BatchSpanProcessor(_exporter(name)))
    return provider


def _exporter(name: str) -> Any:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if name == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            raise TracingConfigError(
                "OTEL_TRACES_EXPORTER=otlp needs the OTLP exporter: "
                "pip install 'elevate-runtime[otel]'"
            ) from None
        return OTLPSpanExporter()
    raise TracingConfigError(
        f"OTEL_TRACES_EXPORTER={name!r} is not supported; expected otlp, console or none"
    )


# Causes: the span that stored a message, linked from the trace of the trigger answering it.


def note_cause(conversation_id: str, seq: int) -> None:
    """Remember the current span as the cause of the trigger for message `seq`."""
    if _state.tracer is None:
        return
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return
    _causes[(conversation_id, seq)] = span_context
    while len(_causes) > MAX_CAUSES:
        _causes.popitem(last=False)


def _links(conversation_id: str, seq: int) -> list[Link]:
    found = _causes.pop((conversation_id, seq), None)
    return [Link(found)] if found is not None else []


# Spans.


def trigger(conversation_id: str, seq: int) -> AbstractContextManager[Span | None]:
    """The root span of one trigger's run (a new trace, linked to the message's span)."""
    tracer = _state.tracer
    if tracer is None:
        return _NULL
    attributes = {
        "gen_ai.operation.name": "invoke_workflow",
        "gen_ai.workflow.name": WORKFLOW,
        "gen_ai.conversation.id": conversation_id,
        "elevate.trigger.seq": seq,
    }
    return _span(
        tracer,
        f"invoke_workflow {WORKFLOW}",
        SpanKind.INTERNAL,
        attributes,
        context=otel_context.Context(),
        links=_links(conversation_id, seq),
    )


def start_turn(
    conversation_id: str,
    turn_id: str,
    agent_id: str,
    agent_name: str,
    model: str | None,
    parent_turn_id: str | None,
) -> Span | None:
    """Start the `invoke_agent` span of a turn under the current span; ended by `end_turn`."""
    tracer = _state.tracer
    if tracer is None:
        return None
    provider, requested = split_model(model)
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.id": agent_id,
        "gen_ai.agent.name": agent_name,
        "gen_ai.conversation.id": conversation_id,
        "elevate.turn.id": turn_id,
    }
    if provider:
        attributes["gen_ai.provider.name"] = provider
    if requested:
        attributes["gen_ai.request.model"] = requested
    if parent_turn_id:
        attributes["elevate.turn.parent_id"] = parent_turn_id
    return tracer.start_span(
        f"invoke_agent {agent_name}", kind=SpanKind.INTERNAL, attributes=attributes
    )


def end_turn(
    span: Span,
    status: str,
    usage: Mapping[str, int],
    content: str,
    error: str | None,
) -> None:
    """End a turn's span with how it ended and what it used."""
    if span.is_recording():
        span.set_attribute("elevate.turn.status", status)
        span.set_attribute("gen_ai.usage.input_tokens", int(usage.get("input_tokens", 0)))
        span.set_attribute("gen_ai.usage.output_tokens", int(usage.get("output_tokens", 0)))
        if _state.content:
            span.set_attribute("gen_ai.output.messages", _output_messages(content))
        if status == "failed":
            span.set_attribute("error.type", _error_type(error))
            span.set_status(Status(StatusCode.ERROR, (error or "")[:200]))
        elif status == "cancelled":
            span.set_attribute("error.type", "cancelled")
    span.end()


def in_span(span: Span | None) -> otel_context.Context | None:
    """An OpenTelemetry context with `span` current, for a task started under it."""
    if span is None:
        return None
    return trace.set_span_in_context(span)


def chat(
    model: str | None, conversation_id: str, prompt: Sequence[Any]
) -> AbstractContextManager[ChatCall | None]:
    """The `chat` span of one model call; `.record(message)` adds what came back."""
    tracer = _state.tracer
    if tracer is None:
        return _NULL
    return _chat(tracer, model, conversation_id, prompt)


@contextlib.contextmanager
def _chat(
    tracer: Tracer, model: str | None, conversation_id: str, prompt: Sequence[Any]
) -> Iterator[ChatCall]:
    provider, requested = split_model(model)
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider or "_OTHER",
        "gen_ai.conversation.id": conversation_id,
    }
    if requested:
        attributes["gen_ai.request.model"] = requested
    with _span(tracer, f"chat {requested or 'model'}", SpanKind.CLIENT, attributes) as span:
        if _state.content and span.is_recording():
            system, messages = _input_messages(prompt)
            if system is not None:
                span.set_attribute("gen_ai.system_instructions", system)
            span.set_attribute("gen_ai.input.messages", messages)
        yield ChatCall(span)


@dataclass
class ChatCall:
    """The span of a model call in progress."""

    span: Span

    def record(self, message: Any) -> None:
        span = self.span
        if not span.is_recording():
            return
        usage = getattr(message, "usage_metadata", None) or {}
        span.set_attribute("gen_ai.usage.input_tokens", int(usage.get("input_tokens", 0)))
        span.set_attribute("gen_ai.usage.output_tokens", int(usage.get("output_tokens", 0)))
        metadata = getattr(message, "response_metadata", None) or {}
        if metadata.get("model_name"):
            span.set_attribute("gen_ai.response.model", str(metadata["model_name"]))
        reason = metadata.get("finish_reason") or ("tool_calls" if message.tool_calls else "stop")
        span.set_attribute("gen_ai.response.finish_reasons", [str(reason)])
        if _state.content:
            span.set_attribute("gen_ai.output.messages", _output_messages(message))


def tool(
    name: str, call_id: str | None, conversation_id: str, arguments: Any
) -> AbstractContextManager[Span | None]:
    """The `execute_tool` span of one tool call (delegation included)."""
    tracer = _state.tracer
    if tracer is None:
        return _NULL
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": name,
        "gen_ai.tool.type": "function",
        "gen_ai.conversation.id": conversation_id,
    }
    if call_id:
        attributes["gen_ai.tool.call.id"] = call_id
    if _state.content:
        attributes["gen_ai.tool.call.arguments"] = _json(arguments)
    return _span(tracer, f"execute_tool {name}", SpanKind.INTERNAL, attributes)


def tool_outcome(span: Span | None, outcome: Any) -> None:
    """Put a tool call's outcome (a `ToolOutcome`) on its span."""
    if span is None or not span.is_recording():
        return
    span.set_attribute("elevate.tool.status", outcome.status)
    if outcome.ok:
        if _state.content:
            span.set_attribute("gen_ai.tool.call.result", _json(outcome.result))
        return
    span.set_attribute("error.type", outcome.code or "_OTHER")
    span.set_status(Status(StatusCode.ERROR, (outcome.error or "")[:200]))


@contextlib.contextmanager
def _span(
    tracer: Tracer,
    name: str,
    kind: SpanKind,
    attributes: dict[str, Any],
    *,
    context: otel_context.Context | None = None,
    links: list[Link] | None = None,
) -> Iterator[Span]:
    with tracer.start_as_current_span(
        name,
        context=context,
        kind=kind,
        attributes=attributes,
        links=links,
        record_exception=True,
        set_status_on_exception=True,
    ) as span:
        try:
            yield span
        except BaseException as exc:
            if span.is_recording():
                span.set_attribute("error.type", _exception_type(exc))
            raise


# Small helpers.


def split_model(model: str | None) -> tuple[str | None, str | None]:
    """`openai:gpt-4o-mini` -> (`openai`, `gpt-4o-mini`); a bare name has no provider."""
    if not model:
        return None, None
    provider, sep, name = model.partition(":")
    if not sep:
        return None, model
    return PROVIDERS.get(provider, provider), name or None


def _exception_type(exc: BaseException) -> str:
    code = getattr(exc, "code", None)
    if isinstance(code, str) and code:
        return code
    if type(exc).__name__ == "CancelledError":
        return "cancelled"
    return type(exc).__qualname__


def _error_type(error: str | None) -> str:
    """The class name an error string starts with (`TurnTimeout: ...`), else `_OTHER`."""
    head = (error or "").split(":", 1)[0].strip()
    return head if head.isidentifier() else "_OTHER"


def _cut(text: str) -> str:
    return text if len(text) <= MAX_CONTENT_CHARS else text[:MAX_CONTENT_CHARS] + "…"


def _json(value: Any) -> str:
    return _cut(json.dumps(value, default=str, ensure_ascii=False))


ROLES = {"human": "user", "ai": "assistant", "tool": "tool", "system": "system"}


def _input_messages(prompt: Sequence[Any]) -> tuple[str | None, str]:
    """The prompt as the conventions' JSON: system instructions apart, then the messages."""
    system = None
    messages = []
    for message in prompt:
        role = ROLES.get(getattr(message, "type", ""), "user")
        text = _cut(str(getattr(message, "text", "")))
        if role == "system" and system is None:
            system = json.dumps([{"type": "text", "content": text}], ensure_ascii=False)
            continue
        part: dict[str, Any] = {"type": "text", "content": text}
        if role == "tool":
            part = {
                "type": "tool_call_response",
                "id": getattr(message, "tool_call_id", None),
                "response": text,
            }
        messages.append({"role": role, "parts": [part]})
    return system, json.dumps(messages, ensure_ascii=False)


def _output_messages(message: Any) -> str:
    if isinstance(message, str):
        parts: list[dict[str, Any]] = [{"type": "text", "content": _cut(message)}]
        return json.dumps([{"role": "assistant", "parts": parts}], ensure_ascii=False)
    parts = []
    text = str(getattr(message, "text", ""))
    if text:
        parts.append({"type": "text", "content": _cut(text)})
    for call in getattr(message, "tool_calls", None) or []:
        parts.append(
            {
                "type": "tool_call",
                "id": call.get("id"),
                "name": call.get("name"),
                "arguments": call.get("args"),
            }
        )
    return json.dumps([{"role": "assistant", "parts": parts}], default=str, ensure_ascii=False)
