"""The terminal client example talks to a real server and resumes without repeating messages."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import httpx

from examples.chat_client.client import Room, open_room, session, sign_in
from runtime.settings import Settings
from tests.server.live import live_server


class WatchedRoom(Room):
    """The example's room, waking the test whenever a frame arrives."""

    def __init__(self, conversation_id: str) -> None:
        super().__init__(conversation_id)
        self.changed = asyncio.Event()

    def show(self, frame: dict[str, Any]) -> None:
        super().show(frame)
        self.changed.set()

    async def until(self, condition: Callable[[], bool]) -> None:
        while not condition():
            self.changed.clear()
            await self.changed.wait()


async def _run_until(
    ws_url: str, token: str, room: WatchedRoom, outbox: asyncio.Queue[str], done: Callable[[], bool]
) -> None:
    task = asyncio.create_task(session(ws_url, token, room, outbox))
    try:
        await asyncio.wait_for(room.until(done), timeout=30)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_client_streams_a_reply_and_resumes_from_its_last_seq(
    make_settings: Callable[..., Settings], capsys: Any
) -> None:
    async with live_server(make_settings()) as server:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            token = await sign_in(http, "term@example.com", "a long secret", "Term")
            again = await sign_in(http, "term@example.com", "a long secret", "Term")
            room = WatchedRoom(await open_room(http, token, "assistant"))
        assert token and again and token != again, "the second call logs in"
        outbox: asyncio.Queue[str] = asyncio.Queue()
        await outbox.put("@assistant hello")
        await _run_until(server.ws_url, token, room, outbox, lambda: room.last_seq >= 2)
        assert room.unacked == {}
        first = capsys.readouterr().out
        assert "[1] Term: @assistant hello" in first and "[2] Assistant:" in first

        await outbox.put("@assistant again")
        await _run_until(server.ws_url, token, room, outbox, lambda: room.last_seq >= 4)
        resumed = capsys.readouterr().out
        assert "[1]" not in resumed and "[2]" not in resumed, "nothing seen is replayed"
        assert "[3] Term: @assistant again" in resumed and "[4] Assistant:" in resumed
