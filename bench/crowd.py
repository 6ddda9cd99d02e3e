"""Many websocket clients in the bench process: connect them, count what they receive, and know
when every one of them has seen the frame that ends a round.

With a thousand sockets on a two-core machine the clients, not the server, can become what is
measured. So each client is a bare asyncio protocol speaking just enough RFC 6455 (handshake,
unfragmented text frames, ping/pong, close, no compression): a frame is counted by its header
and parsed as JSON only when it contains a marker some waiter asked for. The same clients talk to
our server and to the baselines, so whatever they cost is the same on both sides.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

CONNECT_CONCURRENCY = 50
REQUEST_TIMEOUT = 120.0
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA

Accept = Callable[[dict[str, Any]], bool]


class HandshakeError(Exception):
    """The server did not switch protocols; carries its status line and body."""


def _frame(opcode: int, payload: bytes) -> bytes:
    """A masked client frame (clients must mask, RFC 6455 section 5.3)."""
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
    mask = os.urandom(4)
    repeated = (mask * (length // 4 + 1))[:length]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
        length, "big"
    )
    return header + mask + masked


class Client(asyncio.Protocol):
    """One socket: counts text frames and wakes waiters for frames containing their marker."""

    def __init__(self) -> None:
        self.frames = 0
        self.recording: list[dict[str, Any]] | None = None
        self.transport: asyncio.Transport | None = None
        self.handshake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self._buffer = bytearray()
        self._upgraded = False
        self._waiters: list[tuple[bytes, Accept, asyncio.Future[dict[str, Any]]]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.handshake.done():
            self.handshake.set_exception(exc or ConnectionError("closed during handshake"))
        if not self.closed.done():
            self.closed.set_result(None)
        for _, _, future in self._waiters:
            if not future.done():
                future.set_exception(ConnectionError("socket closed while waiting"))

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if not self._upgraded:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self._buffer[:end])
            del self._buffer[: end + 4]
            if not head.startswith(b"HTTP/1.1 101"):
                self.handshake.set_exception(HandshakeError(head.decode(errors="replace")))
                return
            self._upgraded = True
            self.handshake.set_result(None)
        self._frames()

    def _frames(self) -> None:
        buffer = self._buffer
        while len(buffer) >= 2:
            opcode, short = buffer[0] & 0x0F, buffer[1] & 0x7F
            start, length = 2, short
            if short == 126:
                if len(buffer) < 4:
                    return
                start, length = 4, struct.unpack_from("!H", buffer, 2)[0]
            elif short == 127:
                if len(buffer) < 10:
                    return
                start, length = 10, struct.unpack_from("!Q", buffer, 2)[0]
            if len(buffer) < start + length:
                return
            payload = bytes(buffer[start : start + length])
            del buffer[: start + length]
            self._handle(opcode, payload)

    def _handle(self, opcode: int, payload: bytes) -> None:
        if opcode == TEXT:
            self.frames += 1
            if self.recording is not None:
                self.recording.append(json.loads(payload))
            if self._waiters:
                self._match(payload)
        elif opcode == PING and self.transport is not None:
            self.transport.write(_frame(PONG, payload))
        elif opcode == CLOSE and self.transport is not None:
            self.transport.write(_frame(CLOSE, payload[:2]))
            self.transport.close()

    def _match(self, payload: bytes) -> None:
        frame: dict[str, Any] | None = None
        for waiter in list(self._waiters):
            marker, accept, future = waiter
            if marker not in payload or future.done():
                continue
            frame = frame if frame is not None else json.loads(payload)
            if accept(frame):
                future.set_result(frame)
                self._waiters.remove(waiter)

    def expect(
        self, marker: str, accept: Accept = lambda _frame: True
    ) -> asyncio.Future[dict[str, Any]]:
        """A future for the next frame containing `marker` that `accept` takes."""
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiters.append((marker.encode(), accept, future))
        return future

    async def send(self, frame: dict[str, Any]) -> None:
        if self.transport is None or self.transport.is_closing():
            raise ConnectionError("the socket is closed")
        self.transport.write(_frame(TEXT, json.dumps(frame).encode()))

    async def request(self, frame: dict[str, Any], marker: str) -> dict[str, Any]:
        """Send a frame and wait for the answer containing `marker` (e.g. its `ref`)."""
        future = self.expect(marker)
        await self.send(frame)
        return await asyncio.wait_for(future, REQUEST_TIMEOUT)

    async def close(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(_frame(CLOSE, struct.pack("!H", 1000)))
        try:
            await asyncio.wait_for(asyncio.shield(self.closed), 5.0)
        except TimeoutError:
            self.transport.abort()


async def connect(url: str) -> Client:
    """Open a websocket to a `ws://host:port/path?query` URL (loopback, no TLS)."""
    parts = urlsplit(url)
    if parts.scheme != "ws" or parts.hostname is None or parts.port is None:
        raise ValueError(f"expected ws://host:port/path, got {url!r}")
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(Client, parts.hostname, parts.port)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {target} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    assert client.transport is not None
    client.transport.write(request.encode())
    await asyncio.wait_for(client.handshake, REQUEST_TIMEOUT)
    return client


async def connect_many(urls: list[str]) -> list[Client]:
    """Open one client per URL, a bounded number of handshakes at a time."""
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(url: str) -> Client:
        async with gate:
            return await connect(url)

    return list(await asyncio.gather(*(one(url) for url in urls)))


async def close_all(clients: list[Client]) -> None:
    await asyncio.gather(*(client.close() for client in clients))
