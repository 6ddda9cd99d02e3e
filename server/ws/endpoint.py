"""The `/ws` endpoint: Origin check before accept, then a reader and a writer per socket."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging

from fastapi import APIRouter, WebSocket

from server.ws.codes import Close
from server.ws.connection import Connection
from server.ws.session import Session

log = logging.getLogger(__name__)
router = APIRouter()


def origin_allowed(websocket: WebSocket, allowed: list[str]) -> bool:
    """Browsers send `Origin`; it must be one of `allowed` (`*` allows any), or, when nothing
    is configured, one of this server's own origins. The `Host` header is never trusted: the
    client writes it. Clients that send no Origin (not a browser, so no cross-site risk) are
    let through to authenticate."""
    origin = websocket.headers.get("origin")
    if origin is None or "*" in allowed:
        return True
    permitted = {a.rstrip("/").lower() for a in allowed} or own_origins(websocket)
    return origin.rstrip("/").lower() in permitted


def own_origins(websocket: WebSocket) -> set[str]:
    """The origins of the address this connection reached (the socket the server bound), with
    `localhost` and `127.0.0.1` as aliases of each other on loopback."""
    server = websocket.scope.get("server")
    if not server or server[1] is None:
        return set()
    host, port = str(server[0]), int(server[1])
    scheme = "https" if websocket.url.scheme == "wss" else "http"
    hosts = {host}
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host).is_loopback:
            hosts |= {"127.0.0.1", "localhost", "::1"}
    origins = set()
    for name in hosts:
        shown = f"[{name}]" if ":" in name else name
        origins.add(f"{scheme}://{shown}:{port}")
        if (scheme, port) in {("http", 80), ("https", 443)}:
            origins.add(f"{scheme}://{shown}")
    return origins


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
        await services.sockets.release(connection)
        await connection.stop_writing(writer)
        await connection.shut()
