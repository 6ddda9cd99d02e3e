"""Refuse NUL characters in a request's path and query before any route sees them.

Ids and filters from the URL go straight into queries, and PostgreSQL text cannot hold a NUL:
without this, `/api/agents/x%00y` is a driver error (500) instead of bad input. Bodies and
websocket frames are checked by their schemas (`server/schemas/base.py`, `server/ws/frames.py`).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

NUL_MESSAGE = "the URL holds a NUL character (%00), which no id or field can contain"


def has_nul(scope: Scope) -> bool:
    """Whether the decoded path or the (still encoded) query string carries a NUL."""
    path: str = scope.get("path", "")
    query: bytes = scope.get("query_string", b"")
    return "\x00" in path or b"%00" in query or b"\x00" in query


class RejectNul:
    """ASGI middleware: a request whose URL holds a NUL gets 422 `invalid_request`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and has_nul(scope):
            body: dict[str, Any] = {"code": "invalid_request", "message": NUL_MESSAGE}
            await JSONResponse(body, 422)(scope, receive, send)
            return
        await self.app(scope, receive, send)
