"""Resume under chaos: people post at once while their sockets drop at random moments (mid-replay
too, abruptly or cleanly) and resume from the last seq they saw, with an agent replying. Every
client must end with every seq exactly once, in order: no gap, no duplicate, no step back.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from store.turns import Turns
from tests.server.live import WAIT, Api, LiveServer, User, live_server

CLIENTS = 4
CYCLES = 300  # drop/resume cycles in all, shared by the clients
POST_CHANCE = 0.4  # of a session posting a new message right after it resumes
MENTION_ONE_IN = 3  # how many of the posts ask the agent (each reply is a whole turn)
LONGEST_SESSION = 0.1  # seconds a socket may live before it is dropped
PATIENT_CHANCE = 0.2  # of a socket that stays until its sends are acknowledged


@dataclass
class Client:
    """One person: a seq log kept across every socket they open, and what they sent."""

    user: User
    conversation_id: str
    handle: str
    rng: random.Random
    seqs: list[int] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    unacked: dict[str, str] = field(default_factory=dict)  # client_msg_id -> content
    sent: int = 0
    acked: set[str] = field(default_factory=set)

    @property
    def last_seen(self) -> int:
        return self.seqs[-1] if self.seqs else 0

    def take(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "message" and frame["conversation_id"] == self.conversation_id:
            self.seqs.append(frame["seq"])
        elif kind == "error":
            self.errors.append(frame)
        elif kind == "ack":
            self.acked.add(frame["client_msg_id"])
            self.unacked.pop(frame["client_msg_id"], None)

    async def session(self, server: LiveServer, *, final: bool = False) -> ClientConnection:
        """Open a socket, resume, maybe post, read for a while; the caller drops it."""
        # A clean close does not wait long for the server's answer: it may still be storing
        # the posts this socket sent.
        conn = await connect(
            f"{server.ws_url}?token={self.user.token}", proxy=None, close_timeout=0.5
        )
        assert json.loads(await asyncio.wait_for(conn.recv(), WAIT))["type"] == "ready"
        await conn.send(json.dumps(self._subscribe()))
        if not final:
            await self._post(conn)
        # Some sockets wait for their acks before they may drop, so that posting progresses
        # however slow the server is; the others drop at any moment, mid-replay included.
        patient = final or self.rng.random() < PATIENT_CHANCE
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.rng.uniform(0, LONGEST_SESSION)
        give_up = loop.time() + WAIT
        subscribed = False
        while (left := (give_up if patient else deadline) - loop.time()) > 0:
            try:
                frame = json.loads(await asyncio.wait_for(conn.recv(), left))
            except (TimeoutError, ConnectionClosed):
                break
            self.take(frame)
            if frame.get("ref") == "resume":
                assert frame["type"] == "subscribed", frame
                subscribed = True
            if patient and subscribed and (final or not self.unacked):
                patient = final  # settled: from now on drop when the deadline says
                if final or loop.time() >= deadline:
                    break
        return conn

    def _subscribe(self) -> dict[str, Any]:
        return {
            "type": "subscribe",
            "conversation_id": self.conversation_id,
            "after_seq": self.last_seen,
            "ref": "resume",
        }

    async def _post(self, conn: ClientConnection) -> None:
        """Send again what was never acknowledged (its ack was lost with the last socket),
        under the same `client_msg_id` as a client must; then post a few new messages."""
        if self.rng.random() < POST_CHANCE:
            self.sent += 1
            mention = f"@{self.handle} " if self.sent % MENTION_ONE_IN == 0 else ""
            self.unacked[f"{self.user.id}-{self.sent}"] = (
                f"{mention}note {self.sent} from {self.user.name}"
            )
        for client_msg_id, content in list(self.unacked.items()):
            frame = {
                "type": "send",
                "conversation_id": self.conversation_id,
                "client_msg_id": client_msg_id,
                "content": content,
            }
            await conn.send(json.dumps(frame))

    async def drop(self, conn: ClientConnection) -> None:
        """Half the time the connection just vanishes (no close frame), else a clean close."""
        if self.rng.random() < 0.5:
            conn.transport.abort()
        await conn.close()


def tally(seqs: list[int], last_seq: int) -> dict[str, int]:
    return {
        "gaps": len(set(range(1, last_seq + 1)) - set(seqs)),
        "duplicates": len(seqs) - len(set(seqs)),
        "order_violations": sum(1 for a, b in pairwise(seqs) if b < a),
    }


async def _quiet(server: LiveServer, api: Api, owner: User, conversation_id: str) -> int:
    """Wait until the agent has answered what was asked and nothing more is stored; the last
    seq then."""
    turns = Turns(server.services.db)
    path = f"/api/conversations/{conversation_id}/messages"
    last, stable = -1, 0
    loop = asyncio.get_running_loop()
    give_up = loop.time() + 4 * WAIT
    while stable < 3 and loop.time() < give_up:
        await asyncio.sleep(0.3)
        page = await api.ok("GET", f"{path}?after_seq={max(0, last)}&limit=1", owner)
        running = await turns.running(conversation_id)
        stable = stable + 1 if page["last_seq"] == last and not running else 0
        last = page["last_seq"]
    assert stable >= 3, "the conversation never went quiet"
    return last


async def _all_messages(api: Api, owner: User, conversation_id: str) -> list[dict[str, Any]]:
    path = f"/api/conversations/{conversation_id}/messages"
    messages: list[dict[str, Any]] = []
    while True:
        after = messages[-1]["seq"] if messages else 0
        page = await api.ok("GET", f"{path}?after_seq={after}&limit=500", owner)
        messages += page["messages"]
        if not page["has_more"]:
            return messages


async def _chaos(servers: list[LiveServer], seed: int) -> None:
    api = Api(servers[0])
    try:
        people = [await api.register(f"Person {i}") for i in range(CLIENTS)]
        agent = await api.ok(
            "POST",
            "/api/agents",
            people[0],
            json={"name": "Helper", "description": "answers", "model": "offline:default"},
        )
        room = await api.conversation(
            people[0], *people[1:], agents=(agent["id"],), policy={"speaker": "mentions"}
        )
        rng = random.Random(seed)
        clients = [
            Client(p, room["id"], agent["handle"], random.Random(rng.random())) for p in people
        ]

        async def churn(client: Client, cycles: int) -> None:
            for _ in range(cycles):
                server = client.rng.choice(servers)
                await client.drop(await client.session(server))

        await asyncio.gather(*(churn(c, CYCLES // CLIENTS) for c in clients))
        # Everyone resumes once more and stays, while the agent finishes what it was asked.
        finals = [await c.session(c.rng.choice(servers), final=True) for c in clients]
        readers = [
            asyncio.create_task(_read(conn, c)) for conn, c in zip(finals, clients, strict=True)
        ]
        last_seq = await _quiet(servers[0], api, people[0], room["id"])
        for client, reader in zip(clients, readers, strict=True):
            while client.last_seen < last_seq and not reader.done():
                await asyncio.wait({reader}, timeout=0.05)
            reader.cancel()
        for conn in finals:
            await conn.close()

        stored = await _all_messages(api, people[0], room["id"])
        assert [m["seq"] for m in stored] == list(range(1, len(stored) + 1))
        assert len(stored) >= last_seq
        replies = [m for m in stored if (m["author"] or {}).get("kind") == "agent"]
        asked = [m for m in stored if m["content"].startswith(f"@{agent['handle']} ")]
        assert asked and replies, "the agent was asked and answered while sockets dropped"
        for client in clients:
            # Sends lost with their socket were sent again under the same id: stored once.
            mine = [m for m in stored if (m["author"] or {}).get("user_id") == client.user.id]
            ids = [m["client_msg_id"] for m in mine]
            assert len(ids) == len(set(ids))
            sent = {f"{client.user.id}-{n}" for n in range(1, client.sent + 1)}
            assert client.acked and client.acked <= set(ids) <= sent
            assert client.errors == []
            # What it saw after `last_seq` (anything stored late) is held to the same rule.
            seen_to = max(last_seq, client.last_seen)
            assert tally(client.seqs, seen_to) == {
                "gaps": 0,
                "duplicates": 0,
                "order_violations": 0,
            }, client.user.name
            assert client.seqs == list(range(1, seen_to + 1))
    finally:
        await api.close()


async def _read(conn: ClientConnection, client: Client) -> None:
    try:
        async for text in conn:
            client.take(json.loads(text))
    except ConnectionClosed:
        pass


async def test_hundreds_of_drops_and_resumes_lose_and_repeat_nothing(server: LiveServer) -> None:
    await _chaos([server], seed=11)


@pytest.mark.redis
async def test_drops_and_resumes_across_two_servers(make_settings, redis_url: str | None) -> None:
    if redis_url is None:
        pytest.skip("needs REDIS_URL: in-process buses do not cross servers")
    settings = make_settings()
    async with live_server(settings) as one, live_server(settings) as two:
        await _chaos([one, two], seed=12)
