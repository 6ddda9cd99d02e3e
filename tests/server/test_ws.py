"""Websocket protocol v1 against a live server: auth, subscribe/resume, send/ack, access."""

from __future__ import annotations

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from server.ws import codes
from tests.server.live import Api, LiveServer, messages_of, socket


async def _send(client, conversation_id: str, content: str, client_msg_id: str) -> dict:
    return await client.request(
        {
            "type": "send",
            "conversation_id": conversation_id,
            "client_msg_id": client_msg_id,
            "content": content,
        }
    )


async def test_two_users_see_the_same_messages_in_seq_order(api: Api, server: LiveServer) -> None:
    alice, bob = await api.register("Alice"), await api.register("Bob")
    room = await api.conversation(alice, bob)
    async with socket(server, alice.token) as a, socket(server, bob.token) as b:
        assert (await a.subscribe(room["id"]))["last_seq"] == 0
        await b.subscribe(room["id"])
        acks = [await _send(a if i % 2 else b, room["id"], f"hello {i}", f"m{i}") for i in range(4)]
        assert [ack["type"] for ack in acks] == ["ack"] * 4
        assert sorted(ack["seq"] for ack in acks) == [1, 2, 3, 4]
        for client in (a, b):
            while len(messages_of(client.frames, room["id"])) < 4:
                await client.recv()
        assert (
            messages_of(a.frames, room["id"]) == messages_of(b.frames, room["id"]) == [1, 2, 3, 4]
        )
        first = next(f for f in a.frames if f["type"] == "message")
        assert first["message"]["content"] == "hello 0"
        assert first["message"]["author"]["user_id"] == bob.id
        assert first["message"]["author"]["name"] == "Bob"


async def test_resent_client_msg_id_gets_the_original_seq(api: Api, server: LiveServer) -> None:
    alice = await api.register("Alice")
    room = await api.conversation(alice)
    async with socket(server, alice.token) as a:
        first = await _send(a, room["id"], "once", "same-id")
        again = await _send(a, room["id"], "once (retry)", "same-id")
    assert first["seq"] == again["seq"] == 1
    assert first["created"] is True and again["created"] is False
    page = await api.ok("GET", f"/api/conversations/{room['id']}/messages", alice)
    assert [m["content"] for m in page["messages"]] == ["once"] and page["last_seq"] == 1
    # REST send with the same id answers the same acknowledgement.
    response = await api.call(
        "POST",
        f"/api/conversations/{room['id']}/messages",
        alice,
        json={"client_msg_id": "same-id", "content": "once"},
    )
    assert response.status_code == 200 and response.json()["seq"] == 1


async def test_resume_after_disconnect_gets_exactly_the_missed_messages(
    api: Api, server: LiveServer
) -> None:
    alice, bob = await api.register("Alice"), await api.register("Bob")
    room = await api.conversation(alice, bob)
    async with socket(server, bob.token) as b:
        await b.subscribe(room["id"])
        await _send(b, room["id"], "before", "b1")
        # The ack and the message of one's own send may come in either order.
        while not messages_of(b.frames, room["id"]):
            await b.recv()
        seen = max(messages_of(b.frames, room["id"]))
    for i in range(3):
        await api.ok(
            "POST",
            f"/api/conversations/{room['id']}/messages",
            alice,
            json={"client_msg_id": f"a{i}", "content": f"while away {i}"},
        )
    async with socket(server, bob.token) as b:
        subscribed = await b.subscribe(room["id"], after_seq=seen)
        assert subscribed["last_seq"] == 4
        assert messages_of(b.frames, room["id"]) == [2, 3, 4]
        await _send(b, room["id"], "live", "b2")
        while len(messages_of(b.frames, room["id"])) < 4:
            await b.recv()
        assert messages_of(b.frames, room["id"]) == [2, 3, 4, 5]


async def test_token_on_the_handshake_and_ping(api: Api, server: LiveServer) -> None:
    alice = await api.register("Alice")
    async with connect(f"{server.ws_url}?token={alice.token}", proxy=None) as conn:
        from tests.server.live import Socket

        client = Socket(conn)
        ready = await client.recv()
        assert ready["type"] == "ready" and ready["user"]["id"] == alice.id
        assert (await client.request({"type": "ping"}))["type"] == "pong"


async def test_bad_token_closes_4401(api: Api, server: LiveServer) -> None:
    async with connect(f"{server.ws_url}?token=not-a-token", proxy=None) as conn:
        from tests.server.live import Socket

        client = Socket(conn)
        error = await client.recv()
        assert error == {
            "type": "error",
            "code": "unauthenticated",
            "message": error["message"],
        }
        assert await client.closed_with() == codes.Close.UNAUTHENTICATED
    async with socket(server) as client:
        await client.send({"type": "auth", "token": "nope", "ref": 7})
        error = await client.recv()
        assert error["code"] == "unauthenticated" and error["ref"] == 7
        assert await client.closed_with() == 4401


async def test_first_frame_must_be_auth(server: LiveServer) -> None:
    async with socket(server) as client:
        await client.send({"type": "ping", "ref": "p"})
        error = await client.recv()
        assert error["code"] == "unauthenticated" and error["ref"] == "p"
        assert await client.closed_with() == 4401


async def test_no_auth_in_time_closes_4401(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(codes, "AUTH_TIMEOUT_SECONDS", 0.2)
    async with socket(server) as client:
        assert (await client.recv())["code"] == "unauthenticated"
        assert await client.closed_with() == 4401


async def test_bad_origin_is_refused_before_accept(
    api: Api, make_settings, database_url: str
) -> None:
    from tests.server.live import live_server

    settings = make_settings(allowed_origins=["http://good.example"])
    async with live_server(settings) as live:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(live.ws_url, origin="http://evil.example", proxy=None):
                pass
        assert refused.value.response.status_code == 403
        async with socket(live, origin="http://good.example") as client:
            await client.send({"type": "ping"})
            assert (await client.recv())["code"] == "unauthenticated"


async def test_non_participant_cannot_subscribe_or_send(api: Api, server: LiveServer) -> None:
    alice, mallory = await api.register("Alice"), await api.register("Mallory")
    room = await api.conversation(alice)
    async with socket(server, mallory.token) as m:
        error = await m.request(
            {"type": "subscribe", "conversation_id": room["id"], "after_seq": 0}
        )
        assert error["type"] == "error" and error["code"] == "not_found"
        error = await _send(m, room["id"], "let me in", "x1")
        assert error["code"] == "not_found"
        assert (await m.request({"type": "ping"}))["type"] == "pong"
    response = await api.call("GET", f"/api/conversations/{room['id']}/messages", mallory)
    assert response.status_code == 404 and response.json()["code"] == "not_found"


async def test_observer_reads_but_cannot_post(api: Api, server: LiveServer) -> None:
    alice, olga = await api.register("Alice"), await api.register("Olga")
    room = await api.ok(
        "POST",
        "/api/conversations",
        alice,
        json={
            "title": "Watched",
            "participants": [{"kind": "user", "user_id": olga.id, "role": "observer"}],
        },
    )
    async with socket(server, olga.token) as o:
        assert (await o.subscribe(room["id"]))["role"] == "observer"
        error = await _send(o, room["id"], "hi", "o1")
        assert error["type"] == "error" and error["code"] == "forbidden"
        error = await o.request({"type": "typing", "conversation_id": room["id"]})
        assert error["code"] == "forbidden"
    response = await api.call(
        "POST",
        f"/api/conversations/{room['id']}/messages",
        olga,
        json={"content": "hi"},
    )
    assert response.status_code == 403 and response.json()["code"] == "forbidden"


async def test_removed_participant_loses_an_open_subscription(api: Api, server: LiveServer) -> None:
    alice, bob = await api.register("Alice"), await api.register("Bob")
    room = await api.conversation(alice, bob)
    bob_row = next(p for p in room["participants"] if p["user_id"] == bob.id)
    async with socket(server, bob.token) as b, socket(server, alice.token) as a:
        await b.subscribe(room["id"])
        await a.subscribe(room["id"])
        response = await api.call(
            "DELETE", f"/api/conversations/{room['id']}/participants/{bob_row['id']}", alice
        )
        assert response.status_code == 204
        error = await b.until(lambda f: f["type"] == "error")
        assert error["code"] == "forbidden" and error["conversation_id"] == room["id"]
        gone = await b.until(lambda f: f["type"] == "unsubscribed")
        assert gone["reason"] == "removed"
        removed = await a.until(lambda f: f["type"] == "participant.removed")
        assert removed["user_id"] == bob.id
        # Later messages do not reach Bob; a new subscription is refused.
        await _send(a, room["id"], "after removal", "a1")
        error = await _send(b, room["id"], "still here?", "b1")
        assert error["code"] == "not_found"
        again = await b.request({"type": "subscribe", "conversation_id": room["id"]})
        assert again["code"] == "not_found"
        assert messages_of(b.frames, room["id"]) == []


async def test_unsubscribe_and_not_subscribed(api: Api, server: LiveServer) -> None:
    alice = await api.register("Alice")
    room = await api.conversation(alice)
    async with socket(server, alice.token) as a:
        error = await a.request({"type": "unsubscribe", "conversation_id": room["id"]})
        assert error["code"] == "not_subscribed"
        await a.subscribe(room["id"])
        gone = await a.request({"type": "unsubscribe", "conversation_id": room["id"]})
        assert gone == {"type": "unsubscribed", "conversation_id": room["id"], "ref": gone["ref"]}


async def test_typing_and_presence_reach_the_others(api: Api, server: LiveServer) -> None:
    alice, bob = await api.register("Alice"), await api.register("Bob")
    room = await api.conversation(alice, bob)
    async with socket(server, alice.token) as a:
        await a.subscribe(room["id"])
        async with socket(server, bob.token) as b:
            await b.subscribe(room["id"])
            presence = await a.until(lambda f: f["type"] == "presence" and len(f["users"]) == 2)
            assert {u["id"] for u in presence["users"]} == {alice.id, bob.id}
            await b.send({"type": "typing", "conversation_id": room["id"]})
            typing = await a.until(lambda f: f["type"] == "typing")
            assert typing["user"] == {"id": bob.id, "name": "Bob"}
        left = await a.until(lambda f: f["type"] == "presence" and len(f["users"]) == 1)
        assert left["users"][0]["id"] == alice.id


async def test_logout_reaches_an_open_socket(api: Api, server: LiveServer) -> None:
    alice = await api.register("Alice")
    async with socket(server, alice.token) as a:
        assert (await a.request({"type": "ping"}))["type"] == "pong"
        assert (await api.call("POST", "/api/auth/logout", alice)).status_code == 204
        # Closed by the server at once, without waiting for the next frame.
        assert (await a.recv())["code"] == "unauthenticated"
        assert await a.closed_with() == 4401
