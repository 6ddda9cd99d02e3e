"""Server spans for HTTP requests and websockets, and the count of open websockets.

A pure ASGI middleware, outermost: every HTTP request is a `SERVER` span named
`{method} {route}` (the route template, never the query string, which may hold a token);
a websocket is one `SERVER` span for the life of the connection, and each client frame handled
on it is a child span `ws {type}` (`frame`, called by the session). A `traceparent` header
from the client or a proxy continues its trace. With tracing off, requests go straight through;
only the open-socket gauge is kept.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, MutableMapping
from contextlib import AbstractContextManager
from typing import Any

from opentelemetry import propagate
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from runtime import metrics, tracing

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

_NULL: AbstractContextManager[None] = contextlib.nullcontext()


class TraceRequests:
    """Wraps the app: a server span per request or websocket, and the open-socket gauge."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "websocket":
            await self._websocket(scope, receive, send)
        elif kind == "http" and tracing.enabled():
            await self._http(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope.get("method", "GET")
        with _server_span(scope, method, {"http.request.method": method}, named=False) as span:
            status: list[int] = []

            async def send_traced(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status.append(int(message["status"]))
                await send(message)

            try:
                await self.app(scope, receive, send_traced)
            finally:
                _finish(span, scope, method, status[0] if status else 500)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        accepted = False

        async def send_counted(message: Message) -> None:
            nonlocal accepted
            await send(message)
            if message["type"] == "websocket.accept" and not accepted:
                accepted = True
                metrics.OPEN_SOCKETS.inc()

        attributes = {"network.protocol.name": "websocket"}
        span_scope = _server_span(scope, "websocket", attributes) if tracing.enabled() else _NULL
        try:
            with span_scope:
                await self.app(scope, receive, send_counted)
        finally:
            if accepted:
                metrics.OPEN_SOCKETS.dec()


def frame(frame_type: str, conversation_id: str | None) -> AbstractContextManager[Any]:
    """The span of one client frame handled on a websocket."""
    tracer = tracing.tracer()
    if tracer is None:
        return _NULL
    attributes = {"elevate.frame.type": frame_type}
    if conversation_id:
        attributes["gen_ai.conversation.id"] = conversation_id
    return tracer.start_as_current_span(f"ws {frame_type}", attributes=attributes)


def _server_span(
    scope: Scope, label: str, attributes: dict[str, Any], *, named: bool = True
) -> Any:
    """`named`: the path joins the span's name (a fixed path such as `/ws`); otherwise the
    route template does, once routing has found it, since paths hold ids."""
    tracer = tracing.tracer()
    assert tracer is not None
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())}
    path = scope.get("path", "")
    attributes = {
        **attributes,
        "url.path": path,
        "url.scheme": scope.get("scheme", "http"),
    }
    if headers.get("user-agent"):
        attributes["user_agent.original"] = headers["user-agent"][:200]
    return tracer.start_as_current_span(
        f"{label} {path}" if named else label,
        context=propagate.extract(headers),
        kind=SpanKind.SERVER,
        attributes=attributes,
    )


def _finish(span: Span, scope: Scope, method: str, status: int) -> None:
    if not span.is_recording():
        return
    route = getattr(scope.get("route"), "path", None)
    if route:
        span.set_attribute("http.route", route)
        span.update_name(f"{method} {route}")
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_attribute("error.type", str(status))
        span.set_status(Status(StatusCode.ERROR))
