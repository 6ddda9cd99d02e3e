"""One websocket: a bounded send queue drained by a writer task, and an orderly close.

Frames are queued, never written directly, so a client that reads slowly never stalls the code
that produces frames for everyone. Live events are queued without waiting: if the queue is full
the client is too slow and is closed with 4008 (`slow_consumer`); it resumes by seq.

The queue holds frames as dicts or as JSON text already encoded: a bus event goes to every
socket of a room, so the hub encodes it once per process (`encode`), not once per socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from starlette.websockets import WebSocket

from server.ws.codes import Close
from store.ids import new_id
from store.models import User

log = logging.getLogger(__name__)

_CLOSE = object()
REPLAY_WAIT_SECONDS = 30.0
Frame = dict[str, Any] | str


def encode(frame: dict[str, Any]) -> str:
    """The JSON text of a frame as it goes on the wire."""
    return json.dumps(frame, separators=(",", ":"))


class Connection:
    """The sending half of a socket, and what the session knows about its client."""

    def __init__(self, websocket: WebSocket, queue_size: int) -> None:
        self.id = new_id()
        self.websocket = websocket
        self.user: User | None = None
        self.token: str | None = None
        self.queue: asyncio.Queue[Any] = asyncio.Queue(max(1, queue_size))
        self.done = asyncio.Event()
        self.close_code: int | None = None
        self.close_reason = ""
        self.flush_before_close = False
        self.subscriptions: dict[str, Any] = {}

    @property
    def closing(self) -> bool:
        return self.close_code is not None or self.done.is_set()

    def send(self, frame: Frame) -> None:
        """Queue a frame (or its encoded text); a full queue means a slow consumer, which is
        closed."""
        if self.closing:
            return
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            log.info("closing slow consumer %s", self.id)
            self.abort(Close.SLOW_CONSUMER, "slow_consumer")

    async def send_waiting(self, frame: Frame) -> None:
        """Queue a frame, waiting for room: for replays, which this client itself asked for."""
        if self.closing:
            return
        try:
            await asyncio.wait_for(self.queue.put(frame), REPLAY_WAIT_SECONDS)
        except TimeoutError:
            self.abort(Close.SLOW_CONSUMER, "slow_consumer")

    def reply(self, frame: dict[str, Any], ref: Any) -> None:
        """A frame answering a client frame: it echoes the client's `ref`."""
        self.send({**frame, "ref": ref} if ref is not None else frame)

    def error(self, code: str, message: str, ref: Any = None, **extra: Any) -> None:
        self.reply({"type": "error", "code": code, "message": message, **extra}, ref)

    def close(self, code: int, reason: str = "") -> None:
        """Close after the frames already queued (an error frame explaining why, typically)."""
        if self.closing:
            return
        self.close_code, self.close_reason = code, reason
        try:
            self.queue.put_nowait(_CLOSE)
            self.flush_before_close = True
        except asyncio.QueueFull:
            self.done.set()

    def abort(self, code: int, reason: str = "") -> None:
        """Close now, dropping whatever is queued."""
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
        self.flush_before_close = False
        self.done.set()

    def finish(self) -> None:
        """The client went away (or the session ended): stop writing."""
        self.done.set()

    async def write_loop(self) -> None:
        try:
            while True:
                frame = await self.queue.get()
                if frame is _CLOSE:
                    return
                await self.websocket.send_text(frame if type(frame) is str else encode(frame))
        except Exception:  # the peer vanished mid-write; the session notices and cleans up
            log.debug("write failed on %s", self.id, exc_info=True)
        finally:
            self.done.set()

    async def stop_writing(self, writer: asyncio.Task[None]) -> None:
        """Let the writer flush up to a graceful close; otherwise stop it at once."""
        if self.flush_before_close:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(writer), REPLAY_WAIT_SECONDS)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await writer

    async def shut(self) -> None:
        """Send the close frame, if the socket is still open, without waiting forever."""
        if self.close_code is None:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                self.websocket.close(self.close_code, self.close_reason[:120]), 10.0
            )
