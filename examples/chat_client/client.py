"""A terminal client for protocol v1: sign in, open a room with an agent, stream its replies.

It shows what any client must do: authenticate, subscribe with the last seq it saw, send with a
`client_msg_id`, print deltas as they come and swap them for the stored message, and resume
after a dropped socket without losing or repeating a message.

    python -m examples.chat_client.client --email me@example.com --password 'a long secret'

Type a message and press Enter (`@assistant ...` to address the built-in assistant); Ctrl-D quits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import uuid
from typing import Any

import httpx
import websockets


async def sign_in(http: httpx.AsyncClient, email: str, password: str, name: str) -> str:
    """Log in, or register first if the account does not exist yet; returns the bearer token."""
    response = await http.post("/api/auth/login", json={"email": email, "password": password})
    if response.status_code == 401:
        response = await http.post(
            "/api/auth/register", json={"email": email, "password": password, "name": name}
        )
    response.raise_for_status()
    return response.json()["token"]


async def open_room(http: httpx.AsyncClient, token: str, agent_handle: str) -> str:
    """A new conversation with the agent whose handle is given."""
    headers = {"Authorization": f"Bearer {token}"}
    agents = (await http.get("/api/agents", headers=headers)).json()
    agent = next(a for a in agents if a["handle"] == agent_handle)
    response = await http.post(
        "/api/conversations",
        headers=headers,
        json={
            "title": "Terminal chat",
            "participants": [{"kind": "agent", "agent_id": agent["id"]}],
        },
    )
    response.raise_for_status()
    return response.json()["id"]


class Room:
    """What the client knows of the conversation: the last seq seen and unacknowledged sends."""

    def __init__(self, conversation_id: str) -> None:
        self.conversation_id = conversation_id
        self.last_seq = 0
        self.unacked: dict[str, str] = {}

    def show(self, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        if kind == "message" and frame["seq"] > self.last_seq:
            self.last_seq = frame["seq"]
            message = frame["message"]
            author = (message.get("author") or {}).get("name") or "system"
            print(f"\n[{frame['seq']}] {author}: {message['content']}")
        elif kind == "turn.start":
            print(f"\n{frame['agent']['name']} is replying: ", end="", flush=True)
        elif kind == "delta":
            print(frame["text"], end="", flush=True)
        elif kind == "ack":
            self.unacked.pop(frame["client_msg_id"], None)
        elif kind == "error":
            print(f"\n! {frame['code']}: {frame['message']}", file=sys.stderr)


async def session(ws_url: str, token: str, room: Room, outbox: asyncio.Queue[str]) -> None:
    """One socket's life: subscribe from the last seq, resend what was not acknowledged."""
    async with websockets.connect(f"{ws_url}?token={token}") as socket:
        await socket.send(
            json.dumps(
                {
                    "type": "subscribe",
                    "conversation_id": room.conversation_id,
                    "after_seq": room.last_seq,
                }
            )
        )
        for client_msg_id, content in list(room.unacked.items()):
            await socket.send(json.dumps(_send_frame(room, client_msg_id, content)))

        async def pump() -> None:
            while True:
                content = await outbox.get()
                client_msg_id = uuid.uuid4().hex
                room.unacked[client_msg_id] = content
                await socket.send(json.dumps(_send_frame(room, client_msg_id, content)))

        sender = asyncio.create_task(pump())
        try:
            async for raw in socket:
                room.show(json.loads(raw))
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender


def _send_frame(room: Room, client_msg_id: str, content: str) -> dict[str, Any]:
    return {
        "type": "send",
        "conversation_id": room.conversation_id,
        "client_msg_id": client_msg_id,
        "content": content,
    }


async def read_lines(outbox: asyncio.Queue[str]) -> None:
    while line := await asyncio.to_thread(sys.stdin.readline):
        if line.strip():
            await outbox.put(line.strip())


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="http://127.0.0.1:8000")
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--name", default="Terminal user")
    parser.add_argument("--agent", default="assistant", help="handle of the agent to talk to")
    args = parser.parse_args()
    async with httpx.AsyncClient(base_url=args.server) as http:
        token = await sign_in(http, args.email, args.password, args.name)
        room = Room(await open_room(http, token, args.agent))
    ws_url = args.server.replace("http", "ws", 1) + "/ws"
    outbox: asyncio.Queue[str] = asyncio.Queue()
    reader = asyncio.create_task(read_lines(outbox))
    while True:
        connection = asyncio.create_task(session(ws_url, token, room, outbox))
        done, _ = await asyncio.wait([connection, reader], return_when=asyncio.FIRST_COMPLETED)
        if reader in done:
            connection.cancel()
            return
        if isinstance(connection.exception(), (OSError, websockets.ConnectionClosed)):
            print("\n(connection lost; resuming from the last seq)", file=sys.stderr)
        await asyncio.sleep(1)


if __name__ == "__main__":
    asyncio.run(main())
