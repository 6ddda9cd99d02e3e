"""Many websocket clients in the bench process: connect them, count what they receive, and know
when every one of them has seen the frame that ends a round.

The clients cost the same whichever server they talk to, so they do as little as they can: a
frame is parsed only when it is one the round waits for, found by a substring check.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

CONNECT_CONCURRENCY = 50
REQUEST_TIMEOUT = 120.0


class Client:
    """One socket: a reader task counts frames and wakes waiters for frames they asked for."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.frames = 0
        self._waiters: list[tuple[str, Callable[[dict[str, Any]], bool], asyncio.Future]] = []
        self.recording: list[dict[str, Any]] | None = None
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for raw in self.socket:
                self.frames += 1
                if self.recording is not None:
                    self.recording.append(json.loads(raw))
                if self._waiters:
                    self._match(raw)

    def _match(self, raw: str | bytes) -> None:
        text = raw if isinstance(raw, str) else raw.decode()
        for waiter in list(self._waiters):
            marker, accept, future = waiter
            if marker in text and not future.done():
                frame = json.loads(text)
                if accept(frame):
                    future.set_result(frame)
                    self._waiters.remove(waiter)

    def expect(
        self, marker: str, accept: Callable[[dict[str, Any]], bool] = lambda _f: True
    ) -> asyncio.Future:
        """A future for the next frame containing `marker` that `accept` takes."""
        future = asyncio.get_running_loop().create_future()
        self._waiters.append((marker, accept, future))
        return future

    async def send(self, frame: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(frame))

    async def request(self, frame: dict[str, Any], marker: str) -> dict[str, Any]:
        """Send a frame and wait for the answer containing `marker` (e.g. its `ref`)."""
        future = self.expect(marker)
        await self.send(frame)
        return await asyncio.wait_for(future, REQUEST_TIMEOUT)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.socket.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


async def connect_many(urls: list[str], **kwargs: Any) -> list[Client]:
    """Open one client per URL, a bounded number of handshakes at a time."""
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(url: str) -> Client:
        async with gate:
            socket = await connect(url, max_size=2**22, max_queue=None, open_timeout=60, **kwargs)
            return Client(socket)

    return list(await asyncio.gather(*(one(url) for url in urls)))


async def close_all(clients: list[Client]) -> None:
    await asyncio.gather(*(client.close() for client in clients))
