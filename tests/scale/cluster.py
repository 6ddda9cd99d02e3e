"""Real server processes for the scale-out tests, and the clients that talk to them.

Each `ServerProcess` is `python -m uvicorn --factory server.app:create_app` on its own loopback
port with its own environment, exactly as an operator would run several behind a balancer.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from tests.scale.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]
WAIT = 30.0  # bounds every wait: a hang fails the test instead of blocking CI


class Process:
    """A child process on a loopback port, its output kept in a log file."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.command, self.env, self.log = name, command, env, log
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    def kill(self) -> None:
        """SIGKILL: no lifespan shutdown, no lease release, as if the machine died."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait()

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    async def wait_http(self, url: str) -> None:
        deadline = time.monotonic() + WAIT
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                if self.popen is not None and self.popen.poll() is not None:
                    raise RuntimeError(f"{self.name} exited:\n{self.output()[-4000:]}")
                try:
                    if (await client.get(url)).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    tail = self.output()[-4000:]
                    raise TimeoutError(f"{self.name} never answered {url}:\n{tail}")
                await asyncio.sleep(0.1)


class FakeModel(Process):
    """The OpenAI-compatible endpoint of `fake_openai.py`."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        script = str(Path(__file__).with_name("fake_openai.py"))
        command = [sys.executable, script, "--port", str(self.port)]
        super().__init__("fake model", command, dict(os.environ), workdir / "fake_openai.log")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def ready(self) -> None:
        self.start()
        await self.wait_http(f"http://127.0.0.1:{self.port}/health")


class ServerProcess(Process):
    """One Elevate server process."""

    def __init__(self, name: str, workdir: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        command = [
            sys.executable, "-m", "uvicorn", "--factory", "server.app:create_app",
            "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
        ]  # fmt: skip
        data = workdir / name
        data.mkdir(exist_ok=True)
        full_env = {**os.environ, **env, "ELEVATE_DATA_DIR": str(data)}
        super().__init__(name, command, full_env, workdir / f"{name}.log")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def ready(self) -> None:
        self.start()
        await self.wait_http(f"{self.url}/api/health")

    def api(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=WAIT)

    async def socket(self, token: str) -> Socket:
        connection = await connect(f"ws://127.0.0.1:{self.port}/ws?token={token}")
        socket = Socket(connection)
        await socket.until(lambda frame: frame["type"] == "ready")
        return socket


class Socket:
    """A websocket client that records every frame it receives, in order."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.frames: list[dict[str, Any]] = []
        self._arrived = asyncio.Condition()
        self.closed = False
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for text in self.connection:
                async with self._arrived:
                    self.frames.append(json.loads(text))
                    self._arrived.notify_all()
        except Exception:
            pass  # a killed server ends the socket; waiters see `closed`
        finally:
            async with self._arrived:
                self.closed = True
                self._arrived.notify_all()

    async def send(self, frame: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(frame))

    async def until(self, done: Callable[[dict[str, Any]], bool], start: int = 0) -> dict[str, Any]:
        """The first frame from index `start` on that satisfies `done`, waiting for it."""
        async with asyncio.timeout(WAIT), self._arrived:
            while True:
                for frame in self.frames[start:]:
                    if done(frame):
                        return frame
                if self.closed:
                    raise ConnectionError(f"socket closed; frames: {self.frames[-10:]}")
                await self._arrived.wait()

    async def count(self, done: Callable[[dict[str, Any]], bool], n: int) -> list[dict[str, Any]]:
        """Wait until `n` frames satisfy `done`; those frames."""
        async with asyncio.timeout(WAIT), self._arrived:
            while True:
                matching = [frame for frame in self.frames if done(frame)]
                if len(matching) >= n:
                    return matching
                if self.closed:
                    raise ConnectionError(f"socket closed; frames: {self.frames[-10:]}")
                await self._arrived.wait()

    async def subscribe(self, conversation_id: str, after_seq: int = 0) -> dict[str, Any]:
        ref = uuid.uuid4().hex
        await self.send(
            {"type": "subscribe", "conversation_id": conversation_id, "after_seq": after_seq,
             "ref": ref}
        )  # fmt: skip
        return await self.until(lambda frame: frame.get("ref") == ref)

    async def post(
        self, conversation_id: str, content: str, client_msg_id: str | None = None
    ) -> dict[str, Any]:
        """Send a message (a resend with `client_msg_id`); the server's `ack` (or `error`)."""
        ref = uuid.uuid4().hex
        await self.send(
            {"type": "send", "conversation_id": conversation_id, "content": content,
             "client_msg_id": client_msg_id or uuid.uuid4().hex, "ref": ref}
        )  # fmt: skip
        return await self.until(lambda frame: frame.get("ref") == ref)

    async def close(self) -> None:
        await self.connection.close()
        await self._reader


async def register(server: ServerProcess, name: str) -> str:
    """A new user's token."""
    email = f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com"
    async with server.api() as api:
        response = await api.post(
            "/api/auth/register", json={"email": email, "password": "a long password", "name": name}
        )
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


async def one_agent_room(server: ServerProcess, token: str) -> str:
    """A conversation with one agent on the fake model: it answers every message."""
    async with server.api(token) as api:
        agent = await api.post(
            "/api/agents",
            json={
                "name": "Echo",
                "handle": f"echo{uuid.uuid4().hex[:6]}",
                "model": "openai:fake",
                "delegates_to": [],
                "attached_prompts": [],
            },
        )
        assert agent.status_code == 201, agent.text
        room = await api.post(
            "/api/conversations",
            json={
                "title": "scale-out",
                "participants": [{"kind": "agent", "agent_id": agent.json()["id"]}],
            },
        )
    assert room.status_code == 201, room.text
    return str(room.json()["id"])


async def stored_messages(server: ServerProcess, token: str, conversation_id: str) -> list[dict]:
    async with server.api(token) as api:
        response = await api.get(
            f"/api/conversations/{conversation_id}/messages", params={"after_seq": 0}
        )
    assert response.status_code == 200, response.text
    body = response.json()
    return list(body["messages"] if isinstance(body, dict) else body)
