"""Presence frames: coalesced per conversation, sent when the member set changes.

Every socket still learns who is there after it subscribes, and the last frame each socket
holds lists everyone; but n sockets joining no longer cost n^2 frames.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest

from tests.server.live import Api, LiveServer, Socket, socket

USERS = 4
SOCKETS_PER_USER = 10


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"max_connections_per_user": SOCKETS_PER_USER}


def presences(client: Socket, conversation_id: str) -> list[list[str]]:
    return [
        sorted(user["id"] for user in frame["users"])
        for frame in client.frames
        if frame["type"] == "presence" and frame["conversation_id"] == conversation_id
    ]


async def test_joining_sockets_cause_far_fewer_than_n_squared_presence_frames(
    api: Api, server: LiveServer
) -> None:
    people = [await api.register(f"Person {n}") for n in range(USERS)]
    room = await api.conversation(people[0], *people[1:])
    everyone = sorted(person.id for person in people)
    tokens = [person.token for person in people for _ in range(SOCKETS_PER_USER)]
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(socket(server, token)) for token in tokens]
        await asyncio.gather(*(client.subscribe(room["id"]) for client in clients))

        def lists_everyone(frame: dict[str, Any]) -> bool:
            return frame["type"] == "presence" and len(frame["users"]) == USERS

        for client in clients:
            if not any(lists_everyone(frame) for frame in client.frames):
                await client.until(lists_everyone)
        for client in clients:
            assert (await client.request({"type": "ping"}))["type"] == "pong"

        sockets = len(clients)
        sent = sum(len(presences(client, room["id"])) for client in clients)
        # A broadcast per distinct member set (at most one per user joining), plus at most one
        # frame of its own for a socket whose join changed nothing.
        assert sent <= (USERS + 1) * sockets < sockets * sockets // 4
        for client in clients:
            assert presences(client, room["id"])[-1] == everyone


async def test_another_socket_of_a_present_user_is_told_alone(api: Api, server: LiveServer) -> None:
    alice = await api.register("Alice")
    room = await api.conversation(alice)
    async with socket(server, alice.token) as first:
        await first.subscribe(room["id"])
        await first.until(lambda f: f["type"] == "presence")
        async with socket(server, alice.token) as second:
            await second.subscribe(room["id"])
            told = await second.until(lambda f: f["type"] == "presence")
            assert [user["id"] for user in told["users"]] == [alice.id]
            # A broadcast would have been queued to the first socket before the second got it.
            assert (await first.request({"type": "ping"}))["type"] == "pong"
            assert len(presences(first, room["id"])) == 1
        bob = await api.register("Bob")
        await api.ok(
            "POST",
            f"/api/conversations/{room['id']}/participants",
            alice,
            json={"kind": "user", "user_id": bob.id},
        )
        async with socket(server, bob.token) as third:
            await third.subscribe(room["id"])
            both = await first.until(lambda f: f["type"] == "presence")
            assert sorted(user["id"] for user in both["users"]) == sorted([alice.id, bob.id])
        alone = await first.until(lambda f: f["type"] == "presence")
        assert [user["id"] for user in alone["users"]] == [alice.id]
