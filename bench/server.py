"""Our side over the network: the real server in a uvicorn subprocess on a loopback port, set up
through its REST API, and rooms of websocket clients speaking protocol v1 to it.

Limits that protect a public server from one abusive user (connections per user, frames per
second) are raised through the environment, as an operator would for a load test.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.baselines import REPLY
from bench.crowd import Client, close_all, connect_many
from bench.elevate import MODEL_NAME, fresh_database, product_missing
from bench.fixtures import WORKDIR, unique_handles
from bench.harness import Config
from bench.processes import ServerProcess
from store.ids import new_id

PASSWORD = "bench-password-1234"
PROMPT = "please give me one idea for the hook."
ROUND_TIMEOUT = 120.0
SUBSCRIBE_CONCURRENCY = 20
QUIET_SECONDS = 0.5
BENCH_LIMITS = {
    "frames_per_second": 1_000_000,
    "frame_burst": 1_000_000,
    "idle_timeout_seconds": 3600,
}


def server_missing() -> str | None:
    missing = product_missing()
    if missing is not None:
        return missing
    try:
        importlib.import_module("server.app")
    except ImportError as exc:
        return f"not measured: server.app does not import yet ({exc})"
    return None


def server_env(url: str, redis_url: str | None, settings: dict[str, Any]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ELEVATE_")}
    env.pop("REDIS_URL", None)
    env.update(
        DATABASE_URL=url,
        ELEVATE_DEFAULT_MODEL=f"scripted:{MODEL_NAME}",
        ELEVATE_DATA_DIR=str(WORKDIR / "data"),
        ELEVATE_ENVIRONMENT="development",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    for key, value in {**BENCH_LIMITS, **settings}.items():
        env[f"ELEVATE_{key.upper()}"] = str(value)
    return env


def uvicorn_args(profile: Path | None, app: str | None = None) -> list[str]:
    # BENCH_SERVER_APP swaps in another app factory: how a candidate fix is measured before
    # it is made (a module that patches the product, then calls bench.server_app.create).
    app = app or os.environ.get("BENCH_SERVER_APP", "bench.server_app:create")
    args = ["-m", "uvicorn", app, "--factory", "--host", "127.0.0.1"]
    args += ["--port", "{port}", "--log-level", "warning", "--no-access-log"]
    if profile is not None:
        return ["-m", "cProfile", "-o", str(profile), *args]
    return args


@dataclass
class ElevateServer:
    """One or more server processes on one database (several need Redis between them)."""

    processes: list[ServerProcess]
    http: httpx.AsyncClient
    rooms: list[ServerRoom] = field(default_factory=list)

    @classmethod
    async def start(
        cls,
        name: str,
        config: Config,
        *,
        settings: dict[str, Any] | None = None,
        processes: int = 1,
        redis: bool = False,
        postgres: bool = False,
        database_url: str | None = None,
        profile: Path | None = None,
        app: str | None = None,
    ) -> ElevateServer:
        url = database_url or await fresh_database(name, config, postgres=postgres)
        env = server_env(url, config.redis_url if redis else None, settings or {})
        started = []
        try:
            for index in range(processes):
                process = ServerProcess(uvicorn_args(profile, app), env=env, name=f"{name}-{index}")
                started.append(await process.start())
        except BaseException:
            for process in started:
                await process.stop()
            raise
        return cls(started, httpx.AsyncClient(base_url=started[0].url, timeout=60))

    async def register(self, count: int) -> list[dict[str, Any]]:
        """`count` new users, each `{"user": ..., "token": ...}`."""
        users = []
        for _ in range(count):
            tag = new_id().lower()
            body = {"email": f"{tag}@bench.example.com", "password": PASSWORD, "name": tag[-6:]}
            users.append(await self._call("POST", "/api/auth/register", None, body))
        return users

    async def room(
        self,
        *,
        users: int = 1,
        clients_per_user: int = 1,
        people: list[dict[str, Any]] | None = None,
        process_of_client: Any = None,
    ) -> ServerRoom:
        """A conversation of `users` people and one agent, with sockets subscribed to it.

        `process_of_client(index)` picks the server process each socket connects to.
        """
        people = people or await self.register(users)
        owner = people[0]["token"]
        handle = unique_handles(1, "bot")[0]
        agent_body = {
            "name": "Bench agent",
            "handle": handle,
            "model": f"scripted:{MODEL_NAME}",
            "delegates_to": [],
            "attached_prompts": [],
        }
        agent = await self._call("POST", "/api/agents", owner, agent_body)
        participants = [{"kind": "user", "user_id": p["user"]["id"]} for p in people[1:]]
        participants.append({"kind": "agent", "agent_id": agent["id"]})
        body = {"title": "Bench room", "participants": participants}
        conversation = await self._call("POST", "/api/conversations", owner, body)
        urls = []
        for index in range(len(people) * clients_per_user):
            process = self.processes[process_of_client(index) if process_of_client else 0]
            token = people[index % len(people)]["token"]
            urls.append(f"{process.ws_url}/ws?token={token}")
        clients = await connect_many(urls)
        room = ServerRoom(conversation["id"], handle, clients, people)
        await room.subscribe()
        self.rooms.append(room)
        return room

    async def _call(self, method: str, path: str, token: str | None, body: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self.http.request(method, path, json=body, headers=headers)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path} -> {response.status_code}: {response.text}")
        return response.json()

    async def stop(self) -> None:
        for room in self.rooms:
            await close_all(room.clients)
        await self.http.aclose()
        for process in self.processes:
            await process.stop()


@dataclass
class ServerRoom:
    """A conversation on the server and the sockets subscribed to it; `clients[0]` sends."""

    conversation_id: str
    handle: str
    clients: list[Client]
    people: list[dict[str, Any]]
    subscribe_seconds: float = 0.0

    @property
    def sender(self) -> Client:
        return self.clients[0]

    async def subscribe(self) -> None:
        """Subscribe every socket (a few at a time), then wait for the presence frames each
        join sends to everyone to stop arriving, so they do not leak into measured rounds."""
        gate = asyncio.Semaphore(SUBSCRIBE_CONCURRENCY)

        async def one(client: Client) -> None:
            ref = "sub" + new_id()
            frame = {"type": "subscribe", "conversation_id": self.conversation_id, "ref": ref}
            async with gate:
                answer = await client.request(frame, ref)
            if answer.get("type") != "subscribed":
                raise RuntimeError(f"subscribe answered {answer}")

        started = time.perf_counter()
        await asyncio.gather(*(one(client) for client in self.clients))
        await quiet(self.clients)
        self.subscribe_seconds = time.perf_counter() - started

    async def send(self) -> None:
        """The sender posts a message that mentions the room's agent."""
        await self.sender.send(
            {
                "type": "send",
                "conversation_id": self.conversation_id,
                "client_msg_id": new_id(),
                "content": f"@{self.handle} {PROMPT}",
            }
        )

    def ours(self, frame: dict[str, Any]) -> bool:
        return frame.get("conversation_id") == self.conversation_id

    async def capture_turn(self) -> list[dict[str, Any]]:
        """Send once and return every frame a non-sending socket received for the turn."""
        watcher = self.clients[-1]
        watcher.recording = []
        end = watcher.expect('"turn.end"', self.ours)
        await self.send()
        await asyncio.wait_for(end, ROUND_TIMEOUT)
        frames, watcher.recording = watcher.recording, None
        text = "".join(f.get("text", "") for f in frames if f.get("type") == "delta")
        if text != REPLY:
            raise AssertionError(f"the deltas of the turn joined {text!r}, expected {REPLY!r}")
        return frames


async def quiet(clients: list[Client]) -> None:
    """Return once no client has received anything for `QUIET_SECONDS` (bounded)."""
    deadline = time.monotonic() + ROUND_TIMEOUT
    seen = -1
    while time.monotonic() < deadline:
        total = sum(client.frames for client in clients)
        if total == seen:
            return
        seen = total
        await asyncio.sleep(QUIET_SECONDS)
