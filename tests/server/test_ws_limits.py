"""Websocket limits: frame rate, abusive clients, sockets per user (across processes), idle
time, slow consumers, and logout closing sockets."""

from __future__ import annotations

import asyncio
import json

import pytest

from server.ws.codes import Close
from tests.server.live import Api, live_server, socket


async def test_flooding_gets_rate_limited_then_the_socket_recovers(make_settings) -> None:
    async with live_server(make_settings(frames_per_second=1.0, frame_burst=3)) as live:
        api = Api(live)
        alice = await api.register("Alice")
        await api.close()
        async with socket(live, alice.token, auth=False) as a:
            await a.send({"type": "auth", "token": alice.token})
            assert (await a.recv())["type"] == "ready"
            for i in range(6):
                await a.send({"type": "ping", "ref": i})
            answers = [await a.recv() for _ in range(6)]
            assert [f["type"] for f in answers[:3]] == ["pong"] * 3
            limited = [f for f in answers if f["type"] == "error"]
            assert limited and all(f["code"] == "rate_limited" for f in limited)
            await asyncio.sleep(1.2)  # let the bucket refill one token
            assert (await a.request({"type": "ping"}))["type"] == "pong"


async def test_an_abusive_client_is_closed(make_settings) -> None:
    async with live_server(make_settings(frames_per_second=0.01, frame_burst=1)) as live:
        api = Api(live)
        alice = await api.register("Alice")
        await api.close()
        async with socket(live, alice.token) as a:
            for _ in range(11):
                await a.send({"type": "ping"})
            codes = []
            while True:
                frame = await a.recv()
                codes.append(frame.get("code", frame["type"]))
                if len(codes) == 11:
                    break
            assert codes == ["pong"] + ["rate_limited"] * 10
            assert await a.closed_with() == Close.ABUSIVE


async def test_connections_per_user_are_limited(make_settings) -> None:
    async with live_server(make_settings(max_connections_per_user=2)) as live:
        api = Api(live)
        alice, bob = await api.register("Alice"), await api.register("Bob")
        await api.close()
        async with socket(live, alice.token), socket(live, alice.token):
            async with socket(live, alice.token, auth=False) as third:
                await third.send({"type": "auth", "token": alice.token})
                assert (await third.recv())["code"] == "too_many_connections"
                assert await third.closed_with() == Close.TOO_MANY_CONNECTIONS
            async with socket(live, bob.token) as other_user:
                assert (await other_user.request({"type": "ping"}))["type"] == "pong"
        async with socket(live, alice.token) as again:  # closed sockets no longer count
            assert (await again.request({"type": "ping"}))["type"] == "pong"


async def test_idle_socket_is_closed(make_settings) -> None:
    async with live_server(make_settings(idle_timeout_seconds=0.3)) as live:
        api = Api(live)
        alice = await api.register("Alice")
        await api.close()
        async with socket(live, alice.token) as a:
            assert (await a.recv())["code"] == "idle_timeout"
            assert await a.closed_with() == Close.IDLE_TIMEOUT


async def test_slow_consumer_is_closed_without_stalling_others(make_settings) -> None:
    async with live_server(make_settings(send_queue_size=8)) as live:
        api = Api(live)
        alice, bob = await api.register("Alice"), await api.register("Bob")
        room = await api.conversation(alice, bob)
        async with (
            socket(live, alice.token, small_buffers=True) as slow,
            socket(live, bob.token) as fast,
        ):
            await slow.subscribe(room["id"])
            # Alice stops reading; a long turn streams big deltas into the conversation.
            big = "x" * 48_000
            for i in range(200):
                await live.services.bus.publish(
                    room["id"],
                    {"type": "delta", "conversation_id": room["id"], "turn_id": "t", "text": big},
                )
                if i == 100:
                    # Bob, who does not subscribe to the stream, is served all along.
                    assert (await fast.request({"type": "ping"}))["type"] == "pong"
            assert await slow.closed_with() == Close.SLOW_CONSUMER
            assert (await fast.request({"type": "ping"}))["type"] == "pong"
            response = await api.call(
                "POST",
                f"/api/conversations/{room['id']}/messages",
                bob,
                json={"content": "still serving"},
            )
            assert response.status_code == 201
        # Alice resumes by seq on a new socket and gets what was stored.
        async with socket(live, alice.token) as back:
            await back.subscribe(room["id"])
            assert [f["message"]["content"] for f in back.frames if f["type"] == "message"] == [
                "still serving"
            ]
        await api.close()


def test_frames_are_compact_json() -> None:
    assert json.dumps({"a": 1}, separators=(",", ":")) == '{"a":1}'


async def test_logout_closes_the_tokens_sockets_at_once(make_settings) -> None:
    async with live_server(make_settings()) as live:
        api = Api(live)
        alice = await api.register("Alice")
        other = await api.ok(
            "POST", "/api/auth/login", json={"email": alice.email, "password": "correct horse"}
        )
        async with (
            socket(live, alice.token) as first,
            socket(live, alice.token, auth=False) as second,
            socket(live, other["token"]) as elsewhere,
        ):
            await second.send({"type": "auth", "token": alice.token})
            assert (await second.recv())["type"] == "ready"
            assert (await api.call("POST", "/api/auth/logout", alice)).status_code == 204
            # No frame is sent: the sockets learn of the logout from the server, not on use.
            for closed in (first, second):
                error = await closed.recv()
                assert error["type"] == "error" and error["code"] == "unauthenticated"
                assert await closed.closed_with() == Close.UNAUTHENTICATED
            assert first.conn.close_reason == "token_revoked"
            # Another sign-in of the same person keeps its socket.
            assert (await elsewhere.request({"type": "ping"}))["type"] == "pong"
        await api.close()


async def test_logout_through_one_process_closes_sockets_on_another(
    make_settings, redis_url: str | None
) -> None:
    if redis_url is None:
        pytest.skip("needs REDIS_URL: in-process buses do not cross servers")
    settings = make_settings()
    async with live_server(settings) as one, live_server(settings) as two:
        api = Api(one)
        alice = await api.register("Alice")
        async with socket(two, alice.token) as there:
            assert (await api.call("POST", "/api/auth/logout", alice)).status_code == 204
            assert (await there.recv())["code"] == "unauthenticated"
            assert await there.closed_with() == Close.UNAUTHENTICATED
        await api.close()


async def test_the_socket_cap_holds_across_processes(make_settings, redis_url: str | None) -> None:
    if redis_url is None:
        pytest.skip("needs REDIS_URL: without it each process counts its own sockets")
    settings = make_settings(max_connections_per_user=2)
    async with live_server(settings) as one, live_server(settings) as two:
        api = Api(one)
        alice = await api.register("Alice")
        async with socket(one, alice.token), socket(two, alice.token) as kept:
            async with socket(two, alice.token, auth=False) as third:
                await third.send({"type": "auth", "token": alice.token})
                assert (await third.recv())["code"] == "too_many_connections"
                assert await third.closed_with() == Close.TOO_MANY_CONNECTIONS
            async with socket(one, alice.token, auth=False) as fourth:
                await fourth.send({"type": "auth", "token": alice.token})
                assert (await fourth.recv())["code"] == "too_many_connections"
            assert (await kept.request({"type": "ping"}))["type"] == "pong"
        # Closed sockets give their slots back in every process.
        async with socket(two, alice.token), socket(one, alice.token) as again:
            assert (await again.request({"type": "ping"}))["type"] == "pong"
        await api.close()
