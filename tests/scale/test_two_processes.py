"""Two real server processes on one PostgreSQL database and one Redis, as behind a balancer.

Clients on either process must see the same conversation, turns must not overlap across
processes, and neither a killed process nor a restarted Redis may lose an acknowledged message
or leave a conversation stuck.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from runtime.bus_redis import DEFAULT_PREFIX
from store.db import Database
from store.models import AgentTurn
from tests.scale.cluster import (
    WAIT,
    ServerProcess,
    Socket,
    one_agent_room,
    register,
    stored_messages,
)
from tests.scale.conftest import StartCluster
from tests.scale.redis_server import RedisServer

STREAM = {"message", "turn.start", "delta", "tool.call", "tool.result", "turn.end"}


def stream(socket: Socket, room: str) -> list[tuple[Any, ...]]:
    """What a client renders of a conversation, in arrival order."""
    return [
        (f["type"], f.get("seq"), f.get("turn_id"), f.get("text"), f.get("status"))
        for f in socket.frames
        if f["type"] in STREAM and f.get("conversation_id") == room
    ]


def is_turn_end(room: str) -> Any:
    return lambda f: f["type"] == "turn.end" and f.get("conversation_id") == room


def agent_message_after(room: str, seq: int) -> Any:
    def done(f: dict[str, Any]) -> bool:
        return (
            f["type"] == "message"
            and f.get("conversation_id") == room
            and f["seq"] > seq
            and f["message"]["author"]["kind"] == "agent"
        )

    return done


def assert_gap_free(messages: list[dict[str, Any]]) -> None:
    seqs = [m["seq"] for m in messages]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs


async def turns_of(database_url: str, room: str) -> list[AgentTurn]:
    db = Database(database_url)
    try:
        async with db.session() as session:
            query = select(AgentTurn).where(AgentTurn.conversation_id == room)
            return list((await session.scalars(query.order_by(AgentTurn.created_at))).all())
    finally:
        await db.close()


async def until_stored(
    server: ServerProcess, token: str, room: str, done: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    """Poll the stored transcript, as a reconnecting client would, until `done` holds."""
    async with asyncio.timeout(WAIT):
        while True:
            stored = await stored_messages(server, token, room)
            if stored and done(stored):
                return stored
            await asyncio.sleep(0.1)


async def until_settled(database_url: str, room: str) -> list[AgentTurn]:
    """The conversation's turns once none is running (a ghost turn makes this time out)."""
    async with asyncio.timeout(WAIT):
        while True:
            turns = await turns_of(database_url, room)
            if all(turn.status != "running" for turn in turns):
                return turns
            await asyncio.sleep(0.1)


async def until_listeners(redis_url: str, room: str, count: int) -> None:
    """Wait until `count` processes listen to the conversation's channel."""
    client = Redis.from_url(redis_url)
    try:
        async with asyncio.timeout(WAIT):
            while True:
                [(_, listening)] = await client.pubsub_numsub(f"{DEFAULT_PREFIX}{room}")
                if listening >= count:
                    return
                await asyncio.sleep(0.05)
    finally:
        await client.aclose()


async def test_a_turn_started_through_b_streams_to_a_in_the_same_order(
    start_cluster: StartCluster,
) -> None:
    a, b = await start_cluster()
    token = await register(a, "Ada")
    room = await one_agent_room(b, token)
    on_a, on_b = await a.socket(token), await b.socket(token)
    try:
        assert (await on_a.subscribe(room))["type"] == "subscribed"
        assert (await on_b.subscribe(room))["type"] == "subscribed"

        ack = await on_b.post(room, "hello from process B")
        assert ack["type"] == "ack", ack
        for socket in (on_a, on_b):
            await socket.until(is_turn_end(room))

        assert stream(on_a, room) == stream(on_b, room)
        seen = stream(on_a, room)
        assert [row[1] for row in seen if row[0] == "message"] == [ack["seq"], ack["seq"] + 1], seen
        reply = next(f for f in on_a.frames if agent_message_after(room, ack["seq"])(f))
        deltas = "".join(row[3] for row in seen if row[0] == "delta")
        assert deltas == reply["message"]["content"] and deltas
    finally:
        await on_a.close()
        await on_b.close()


async def test_messages_sent_at_once_through_a_and_b_run_one_turn_at_a_time(
    start_cluster: StartCluster, scale_database: str
) -> None:
    a, b = await start_cluster()
    token = await register(a, "Ada")
    room = await one_agent_room(a, token)
    on_a, on_b = await a.socket(token), await b.socket(token)
    try:
        await on_a.subscribe(room)
        await on_b.subscribe(room)
        acks = [await on_a.post(room, "one via A"), await on_b.post(room, "two via B")]
        assert {ack["type"] for ack in acks} == {"ack"}, acks
        for socket in (on_a, on_b):
            await socket.count(is_turn_end(room), 2)

        for socket in (on_a, on_b):
            bounds = [(row[0], row[2]) for row in stream(socket, room) if row[0].startswith("turn")]
            first, second = bounds[0][1], bounds[2][1]
            assert bounds[:4] == [
                ("turn.start", first),
                ("turn.end", first),
                ("turn.start", second),
                ("turn.end", second),
            ]
        assert stream(on_a, room) == stream(on_b, room)

        turns = await turns_of(scale_database, room)
        assert len(turns) >= 2 and all(turn.status == "completed" for turn in turns)
        for earlier, later in itertools.pairwise(turns):
            assert earlier.ended_at is not None and earlier.ended_at <= later.created_at
        assert len({turn.fencing_token for turn in turns}) == len(turns)
    finally:
        await on_a.close()
        await on_b.close()


async def test_killing_a_process_mid_turn_loses_nothing_and_blocks_nothing(
    start_cluster: StartCluster, scale_database: str
) -> None:
    a, b = await start_cluster()
    token = await register(a, "Ada")
    room = await one_agent_room(a, token)
    on_a, on_b = await a.socket(token), await b.socket(token)
    try:
        await on_a.subscribe(room)
        await on_b.subscribe(room)
        first = await on_a.post(room, "a quiet start")
        await on_b.until(is_turn_end(room))

        held = await on_a.post(room, "please HOLD while I pull the plug")
        assert held["type"] == "ack", held
        start = await on_b.until(
            lambda f: f["type"] == "turn.start" and f.get("conversation_id") == room
        )
        stalled = await on_b.until(
            lambda f: f["type"] == "turn.start" and f["turn_id"] != start["turn_id"]
        )
        await on_b.until(lambda f: f["type"] == "delta" and f["turn_id"] == stalled["turn_id"])
        a.kill()

        after = await on_b.post(room, "are you still there?")
        assert after["type"] == "ack", after
        reply = await on_b.until(agent_message_after(room, after["seq"]))
        assert reply["message"]["content"]

        stored = await stored_messages(b, token, room)
        assert_gap_free(stored)
        by_seq = {m["seq"]: m for m in stored}
        for ack, text in [
            (first, "a quiet start"),
            (held, "please HOLD while I pull the plug"),
            (after, "are you still there?"),
        ]:
            assert text in by_seq[ack["seq"]]["content"]

        # The killed turn's message is owed too: the survivor may still be answering it, in
        # either order with `after`. Nothing may stay running once it has.
        turns = {turn.id: turn for turn in await until_settled(scale_database, room)}
        assert turns[stalled["turn_id"]].status == "failed"
        assert [t for t in turns.values() if t.status == "running"] == []
    finally:
        await on_b.close()


async def test_restarting_redis_mid_conversation_loses_no_stored_message(
    start_cluster: StartCluster, tmp_path: Path
) -> None:
    if not RedisServer.available():
        pytest.skip("redis-server is not installed")
    redis = RedisServer(tmp_path)
    redis.start()
    try:
        a, b = await start_cluster(redis.url)
        token = await register(a, "Ada")
        room = await one_agent_room(a, token)
        on_a, on_b = await a.socket(token), await b.socket(token)
        await on_a.subscribe(room)
        await on_b.subscribe(room)
        before = await on_b.post(room, "before the restart")
        await on_a.until(agent_message_after(room, before["seq"]))

        redis.restart()
        during = await on_b.post(room, "right after the restart")
        assert during["type"] == "ack", during
        later = await on_a.post(room, "and once more")
        assert later["type"] == "ack", later

        # Events published while the buses reconnected may be lost; clients catch up by seq.
        stored = await until_stored(a, token, room, lambda m: m[-1]["seq"] > later["seq"])
        assert_gap_free(stored)
        humans = [m["content"] for m in stored if m["author"]["kind"] == "user"]
        assert humans == ["before the restart", "right after the restart", "and once more"]
        assert stored[-1]["author"]["kind"] == "agent"

        # Once both processes listen again, events flow live to both sides.
        await until_listeners(redis.url, room, 2)
        again = await on_a.post(room, "live again?")
        for socket in (on_a, on_b):
            await socket.until(agent_message_after(room, again["seq"]))

        await on_a.close()
        await on_b.close()
    finally:
        redis.kill()


async def test_what_a_killed_process_had_queued_is_answered_by_the_survivor(
    start_cluster: StartCluster, scale_database: str
) -> None:
    """Nobody posts again after the kill: B must find on its own what A left owed."""
    a, b = await start_cluster()
    token = await register(a, "Ada")
    room = await one_agent_room(a, token)
    on_a, on_b = await a.socket(token), await b.socket(token)
    try:
        await on_a.subscribe(room)
        await on_b.subscribe(room)
        held = await on_a.post(room, "please HOLD while I pull the plug")
        stalled = await on_b.until(lambda f: f["type"] == "turn.start")
        await on_b.until(lambda f: f["type"] == "delta" and f["turn_id"] == stalled["turn_id"])
        queued = await on_a.post(room, "queued behind the held turn")
        assert (held["type"], queued["type"]) == ("ack", "ack"), (held, queued)
        a.kill()

        ended = await on_b.until(
            lambda f: f["type"] == "turn.end" and f["turn_id"] == stalled["turn_id"]
        )
        assert ended["status"] == "failed" and ended["error"]
        # The killed turn's message runs again, then the queued one: a reply each.
        replies = await on_b.count(agent_message_after(room, queued["seq"]), 2)
        assert all(reply["message"]["content"] for reply in replies)
        later = await on_b.post(room, "and one more")
        await on_b.until(agent_message_after(room, later["seq"]))

        stored = await stored_messages(b, token, room)
        assert_gap_free(stored)
        # The killed turn's message and the queued one are answered once each, in order.
        agents = [m["seq"] for m in stored if m["author"]["kind"] == "agent"]
        assert agents == [queued["seq"] + 1, queued["seq"] + 2, later["seq"] + 1]
        turns = await turns_of(scale_database, room)
        assert [(t.trigger_seq, t.status) for t in turns] == [
            (held["seq"], "failed"),
            (held["seq"], "completed"),
            (queued["seq"], "completed"),
            (later["seq"], "completed"),
        ]
        fences = [t.fencing_token or 0 for t in turns]
        assert fences == sorted(set(fences)), fences
    finally:
        await on_b.close()
