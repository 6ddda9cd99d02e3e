"""A real server on a loopback port, and thin clients for its REST API and websocket.

The server runs `uvicorn.Server` with `create_app(settings)` as a task in the test's event loop:
real sockets, real HTTP and websocket framing, the same database and bus URLs as the suite.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import queue
import socket as pysocket
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from runtime.settings import Settings
from server.app import create_app

WAIT = 15.0  # a safety net so a broken test fails instead of hanging; never asserted on
_names = itertools.count(1)


@dataclass
class LiveServer:
    app: Any
    base_url: str
    ws_url: str
    services: Any


@contextlib.asynccontextmanager
async def live_server(settings: Settings) -> AsyncIterator[LiveServer]:
    app = create_app(settings)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", ws="websockets-sansio", lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("uvicorn stopped before it started")
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield LiveServer(
            app, f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws", app.state.services
        )
    finally:
        server.should_exit = True
        await task


@contextlib.contextmanager
def live_server_thread(settings: Settings) -> Iterator[str]:
    """The server in a thread with its own event loop, for synchronous tests; its base URL."""
    ready: queue.Queue[Any] = queue.Queue()

    async def run() -> None:
        stop = asyncio.Event()
        try:
            async with live_server(settings) as live:
                ready.put((live.base_url, asyncio.get_running_loop(), stop))
                await stop.wait()
        except BaseException as exc:
            ready.put(exc)
            raise

    thread = threading.Thread(target=asyncio.run, args=(run(),), daemon=True)
    thread.start()
    started = ready.get(timeout=60)
    if isinstance(started, BaseException):
        raise started
    base_url, loop, stop = started
    try:
        yield base_url
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=60)


@dataclass
class User:
    id: str
    name: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Api:
    """httpx against the live server, with helpers for the common set-up calls."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.http = httpx.AsyncClient(base_url=server.base_url, timeout=WAIT)

    async def close(self) -> None:
        await self.http.aclose()

    async def register(self, name: str | None = None, password: str = "correct horse") -> User:
        name = name or f"User {next(_names)}"
        email = f"{name.lower().replace(' ', '.')}.{next(_names)}@example.com"
        response = await self.http.post(
            "/api/auth/register", json={"email": email, "password": password, "name": name}
        )
        assert response.status_code == 201, response.text
        body = response.json()
        return User(body["user"]["id"], name, email, body["token"])

    async def call(self, method: str, path: str, user: User | None = None, **kw: Any) -> Any:
        headers = user.headers if user else {}
        return await self.http.request(method, path, headers=headers, **kw)

    async def ok(self, method: str, path: str, user: User | None = None, **kw: Any) -> Any:
        response = await self.call(method, path, user, **kw)
        assert response.status_code < 300, (
            f"{method} {path}: {response.status_code} {response.text}"
        )
        return response.json() if response.content else None

    async def conversation(
        self, owner: User, *others: User, agents: tuple[str, ...] = (), **fields: Any
    ) -> dict[str, Any]:
        participants = [{"kind": "user", "user_id": u.id} for u in others]
        participants += [{"kind": "agent", "agent_id": a} for a in agents]
        body = {"title": "Room", "participants": participants, **fields}
        return await self.ok("POST", "/api/conversations", owner, json=body)


@dataclass
class Socket:
    """A websocket client that keeps every frame it receives, for assertions on order."""

    conn: ClientConnection
    frames: list[dict[str, Any]] = field(default_factory=list)
    _refs: itertools.count = field(default_factory=lambda: itertools.count(1))

    async def send(self, frame: dict[str, Any] | str) -> None:
        await self.conn.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def recv(self) -> dict[str, Any]:
        frame = json.loads(await asyncio.wait_for(self.conn.recv(), WAIT))
        self.frames.append(frame)
        return frame

    async def until(self, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """Read frames until one matches (frames read on the way are kept in `frames`)."""
        while True:
            frame = await self.recv()
            if predicate(frame):
                return frame

    async def request(self, frame: dict[str, Any]) -> dict[str, Any]:
        """Send a frame with a fresh `ref` and return the frame that answers it."""
        ref = f"r{next(self._refs)}"
        await self.send({**frame, "ref": ref})
        return await self.until(lambda f: f.get("ref") == ref)

    async def closed_with(self) -> int:
        """Read until the server closes; the close code."""
        with contextlib.suppress(ConnectionClosed):
            while True:
                await self.recv()
        assert self.conn.close_code is not None
        return self.conn.close_code

    async def subscribe(self, conversation_id: str, after_seq: int = 0) -> dict[str, Any]:
        answer = await self.request(
            {"type": "subscribe", "conversation_id": conversation_id, "after_seq": after_seq}
        )
        assert answer["type"] == "subscribed", answer
        return answer


@contextlib.asynccontextmanager
async def socket(
    server: LiveServer,
    token: str | None = None,
    *,
    origin: str | None = None,
    auth: bool = True,
    small_buffers: bool = False,
) -> AsyncIterator[Socket]:
    """A connected socket; with `token` and `auth` it authenticates by an `auth` frame first.

    `small_buffers` makes a client whose kernel and library buffer little, without compression,
    so that one that stops reading pushes back on the server soon (the kernel otherwise buffers
    megabytes, and compressed repetitive text hardly fills anything).
    """
    options: dict[str, Any] = {}
    if small_buffers:
        raw = pysocket.socket(pysocket.AF_INET, pysocket.SOCK_STREAM)
        raw.setsockopt(pysocket.SOL_SOCKET, pysocket.SO_RCVBUF, 16_384)
        raw.setblocking(False)
        host, port = server.base_url.removeprefix("http://").split(":")
        await asyncio.get_running_loop().sock_connect(raw, (host, int(port)))
        options = {"sock": raw, "max_queue": 1, "compression": None}
    async with connect(
        server.ws_url, origin=origin, proxy=None, open_timeout=WAIT, **options
    ) as conn:
        client = Socket(conn)
        if token is not None and auth:
            ready = await client.request({"type": "auth", "token": token})
            assert ready["type"] == "ready", ready
        yield client


def messages_of(frames: list[dict[str, Any]], conversation_id: str) -> list[int]:
    return [
        f["seq"]
        for f in frames
        if f["type"] == "message" and f["conversation_id"] == conversation_id
    ]
