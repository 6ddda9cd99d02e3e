"""The `/ws` endpoint: Origin check before accept, then a reader and a writer per socket."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket

from server.ws.codes import Close
from server.ws.connection import Connection
from server.ws.session import Session

log = logging.getLogger(__name__)
router = APIRouter()


def origin_allowed(websocket: WebSocket, allowed: list[str]) -> bool:
    """Browsers send `Origin`; it must be listed, or be this server itself. Clients that send
    none (not a browser, so no cross-site risk) are let through to authenticate."""
    origin = websocket.headers.get("origin")
    if origin is None or "*" in allowed:
        return True
    if origin.rstrip("/") in {a.rstrip("/") for a in allowed}:
        return True
    return urlsplit(origin).netloc.lower() == (websocket.headers.get("host") or "").lower()


@router.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket) -> None:
    services = websocket.app.state.services
    if not origin_allowed(websocket, services.settings.allowed_origins):
        await websocket.close(Close.FORBIDDEN_ORIGIN)
        return
    await websocket.accept()
    connection = Connection(websocket, services.settings.send_queue_size)
    session = Session(connection, services)
    writer = asyncio.create_task(connection.write_loop())
    reader = asyncio.create_task(session.run())
    try:
        await connection.done.wait()
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
        if reader.done() and not reader.cancelled() and reader.exception() is not None:
            connection.abort(Close.INTERNAL_ERROR, "internal_error")
        await services.hub.drop(connection)
        await connection.stop_writing(writer)
        await connection.shut()
