"""Live fan-out in seq order: every seq reaches every subscriber once, in order, even when
events are published out of order, arrive late, or never arrive; and `after_seq` bounds."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from runtime.events import event
from server.transcript import Transcript
from server.ws.sequencer import FILL_AFTER_SECONDS
from store.conversations import Conversations
from store.messages import Messages
from tests.server.live import Api, LiveServer, Socket, live_server, messages_of, socket

POSTERS = 8
EACH = 8  # messages per poster


async def _stored_event(server: LiveServer, conversation_id: str, user_id: str, content: str):
    """Store a message the way the runtime does, without announcing it: the test then
    publishes its event itself, in the order (or not at all) that the case needs."""
    db = server.services.db
    author = await Conversations(db).participant_for_user(conversation_id, user_id)
    assert author is not None
    appended = await Messages(db).append(conversation_id, content, author_participant_id=author.id)
    [wire] = await Transcript(db, conversation_id).messages([appended.message])
    return event("message", conversation_id, seq=wire["seq"], message=wire)


async def _until_seq(client: Socket, conversation_id: str, seq: int) -> list[int]:
    await client.until(
        lambda f: (
            f["type"] == "message" and f["conversation_id"] == conversation_id and f["seq"] >= seq
        )
    )
    return messages_of(client.frames, conversation_id)


async def _post(api: Api, user, conversation_id: str, client_msg_id: str) -> int:
    ack = await api.ok(
        "POST",
        f"/api/conversations/{conversation_id}/messages",
        user,
        json={"client_msg_id": client_msg_id, "content": f"post {client_msg_id}"},
    )
    return ack["seq"]


async def test_a_message_published_before_an_earlier_one_reaches_everyone_in_order(
    api: Api, server: LiveServer
) -> None:
    alice, bob = await api.register("Alice"), await api.register("Bob")
    room = await api.conversation(alice, bob)
    async with socket(server, alice.token) as a, socket(server, bob.token) as b:
        await a.subscribe(room["id"])
        await b.subscribe(room["id"])
        first = await _stored_event(server, room["id"], alice.id, "first")
        second = await _stored_event(server, room["id"], bob.id, "second")
        await server.services.bus.publish(room["id"], second)
        await server.services.bus.publish(room["id"], first)
        third = await _post(api, alice, room["id"], "third")
        for client in (a, b):
            assert await _until_seq(client, room["id"], third) == [1, 2, 3]
            contents = [f["message"]["content"] for f in client.frames if f["type"] == "message"]
            assert contents == ["first", "second", "post third"]
        # A client resuming from the last seq it saw misses nothing either.
        async with socket(server, bob.token) as again:
            assert (await again.subscribe(room["id"], after_seq=3))["last_seq"] == 3
            assert messages_of(again.frames, room["id"]) == []


async def test_a_message_whose_event_never_comes_is_read_from_the_database(
    api: Api, server: LiveServer
) -> None:
    alice, bob = await api.register("Alice"), await api.register("Bob")
    room = await api.conversation(alice, bob)
    async with socket(server, bob.token) as b:
        await b.subscribe(room["id"])
        await _stored_event(server, room["id"], alice.id, "never announced")
        later = await _stored_event(server, room["id"], alice.id, "announced")
        await server.services.bus.publish(room["id"], later)
        assert await _until_seq(b, room["id"], 2) == [1, 2]
        lost = next(f for f in b.frames if f["type"] == "message" and f["seq"] == 1)
        assert lost["message"]["content"] == "never announced"
        assert lost["message"]["author"]["name"] == "Alice"
        # The live stream goes on after the filled gap, and a late duplicate is not resent.
        await server.services.bus.publish(room["id"], later)
        assert await _until_seq(b, room["id"], await _post(api, alice, room["id"], "x")) == [
            1,
            2,
            3,
        ]


async def test_events_behind_a_missing_seq_wait_for_it(api: Api, server: LiveServer) -> None:
    """A turn's `turn.end` names its message: it must not overtake that message."""
    alice, bob = await api.register("Alice"), await api.register("Bob")
    room = await api.conversation(alice, bob)
    async with socket(server, bob.token) as b:
        await b.subscribe(room["id"])
        first = await _stored_event(server, room["id"], alice.id, "first")
        second = await _stored_event(server, room["id"], alice.id, "second")
        bus = server.services.bus
        await bus.publish(room["id"], second)
        await bus.publish(room["id"], event("turn.end", room["id"], turn_id="t", message_seq=2))
        await asyncio.sleep(FILL_AFTER_SECONDS / 5)
        await bus.publish(room["id"], first)
        end = await b.until(lambda f: f["type"] == "turn.end")
        kinds = [(f["type"], f.get("seq")) for f in b.frames if f["type"] != "presence"]
        assert kinds[-3:] == [("message", 1), ("message", 2), ("turn.end", None)], kinds
        assert end["message_seq"] == 2


async def test_a_turn_end_whose_message_event_is_lost_comes_after_that_message(
    api: Api, server: LiveServer
) -> None:
    alice, bob = await api.register("Alice"), await api.register("Bob")
    room = await api.conversation(alice, bob)
    async with socket(server, bob.token) as b:
        await b.subscribe(room["id"])
        await _stored_event(server, room["id"], alice.id, "reply")  # its event is lost
        await server.services.bus.publish(
            room["id"], event("turn.end", room["id"], turn_id="t", message_seq=1)
        )
        await b.until(lambda f: f["type"] == "turn.end")
        kinds = [(f["type"], f.get("seq")) for f in b.frames if f["type"] != "presence"]
        assert kinds[-2:] == [("message", 1), ("turn.end", None)], kinds


async def test_eight_people_posting_at_once_and_one_watcher(api: Api, server: LiveServer) -> None:
    people = [await api.register(f"Poster {i}") for i in range(POSTERS)]
    watcher = await api.register("Watcher")
    room = await api.conversation(watcher, *people)
    async with socket(server, watcher.token) as w:
        await w.subscribe(room["id"])
        sockets = [socket(server, p.token) for p in people]
        clients = [await s.__aenter__() for s in sockets]
        try:
            await _all_post_at_once(clients, room["id"])
        finally:
            for s in sockets:
                await s.__aexit__(None, None, None)
        total = POSTERS * EACH
        assert await _until_seq(w, room["id"], total) == list(range(1, total + 1))


async def _all_post_at_once(clients: list[Socket], conversation_id: str) -> None:
    start = asyncio.Event()

    async def post(index: int, client: Socket) -> list[int]:
        await start.wait()
        frames = [
            {
                "type": "send",
                "conversation_id": conversation_id,
                "client_msg_id": f"p{index}-{n}",
                "content": f"from {index}: {n}",
                "ref": f"p{index}-{n}",
            }
            for n in range(EACH)
        ]
        for frame in frames:  # all in flight at once: no waiting for each ack
            await client.send(frame)
        acks = [await client.until(lambda f, r=f["ref"]: f.get("ref") == r) for f in frames]
        assert {a["type"] for a in acks} == {"ack"}, acks
        return [a["seq"] for a in acks]

    tasks = [asyncio.create_task(post(i, c)) for i, c in enumerate(clients)]
    start.set()
    seqs = sorted(s for task in await asyncio.gather(*tasks) for s in task)
    assert seqs == list(range(1, POSTERS * EACH + 1))


@pytest.mark.redis
async def test_eight_people_posting_at_once_on_two_servers_and_a_watcher_on_each(
    make_settings, redis_url: str | None
) -> None:
    if redis_url is None:
        pytest.skip("needs REDIS_URL: in-process buses do not cross servers")
    settings = make_settings()
    async with live_server(settings) as one, live_server(settings) as two:
        api = Api(one)
        try:
            people = [await api.register(f"Poster {i}") for i in range(POSTERS)]
            watcher = await api.register("Watcher")
            room = await api.conversation(watcher, *people)
            async with socket(one, watcher.token) as w1, socket(two, watcher.token) as w2:
                await w1.subscribe(room["id"])
                await w2.subscribe(room["id"])
                # Out of order across processes: the later seq announced by the other server.
                first = await _stored_event(one, room["id"], people[0].id, "first")
                second = await _stored_event(one, room["id"], people[1].id, "second")
                await two.services.bus.publish(room["id"], second)
                await one.services.bus.publish(room["id"], first)
                servers = [one if i % 2 else two for i in range(POSTERS)]
                sockets = [socket(s, p.token) for s, p in zip(servers, people, strict=True)]
                clients = [await s.__aenter__() for s in sockets]
                try:
                    await _offset_posts(clients, room["id"])
                finally:
                    for s in sockets:
                        await s.__aexit__(None, None, None)
                total = POSTERS * EACH + 2
                for w in (w1, w2):
                    assert await _until_seq(w, room["id"], total) == list(range(1, total + 1))
        finally:
            await api.close()


async def _offset_posts(clients: list[Socket], conversation_id: str) -> None:
    """Like `_all_post_at_once`, after two messages already stored."""
    acks: list[dict[str, Any]] = []

    async def post(index: int, client: Socket) -> None:
        for n in range(EACH):
            await client.send(
                {
                    "type": "send",
                    "conversation_id": conversation_id,
                    "client_msg_id": f"p{index}-{n}",
                    "content": f"from {index}: {n}",
                    "ref": f"p{index}-{n}",
                }
            )
        for n in range(EACH):
            acks.append(await client.until(lambda f, r=f"p{index}-{n}": f.get("ref") == r))

    await asyncio.gather(*(post(i, c) for i, c in enumerate(clients)))
    assert sorted(a["seq"] for a in acks) == list(range(3, POSTERS * EACH + 3))


async def test_after_seq_above_the_last_seq_is_taken_as_the_last_seq(
    api: Api, server: LiveServer
) -> None:
    alice, bob = await api.register("Alice"), await api.register("Bob")
    room = await api.conversation(alice, bob)
    for i in range(3):
        await _post(api, alice, room["id"], f"a{i}")
    async with socket(server, bob.token) as b:
        subscribed = await b.subscribe(room["id"], after_seq=50)
        assert subscribed["last_seq"] == 3
        assert messages_of(b.frames, room["id"]) == []
        await _post(api, alice, room["id"], "after")
        assert await _until_seq(b, room["id"], 4) == [4]
    async with socket(server, bob.token) as b:
        # Resubscribing on the same socket with a bogus value behaves the same.
        await b.subscribe(room["id"], after_seq=1)
        assert messages_of(b.frames, room["id"]) == [2, 3, 4]
        assert (await b.subscribe(room["id"], after_seq=2**31 - 1))["last_seq"] == 4
        await _post(api, alice, room["id"], "later")
        assert await _until_seq(b, room["id"], 5) == [2, 3, 4, 5]


async def test_after_seq_beyond_any_seq_is_an_error_frame_not_internal_error(
    api: Api, server: LiveServer
) -> None:
    alice = await api.register("Alice")
    room = await api.conversation(alice)
    await _post(api, alice, room["id"], "a")
    async with socket(server, alice.token) as a:
        for after_seq in (2**31, 2**63 - 1, 2**63, 2**64, 10**30):
            answer = await a.request(
                {"type": "subscribe", "conversation_id": room["id"], "after_seq": after_seq}
            )
            assert answer["type"] == "error", answer
            assert answer["code"] == "invalid_frame", answer
            assert answer["details"][0]["field"] == "after_seq"
        # The socket stays open and a sound subscribe still works.
        assert (await a.subscribe(room["id"]))["last_seq"] == 1
        assert messages_of(a.frames, room["id"]) == [1]


async def test_a_seq_that_never_comes_closes_the_socket_to_resume_rather_than_muting_it(
    api: Api, server: LiveServer
) -> None:
    alice, bob = await api.register("Alice"), await api.register("Bob")
    room = await api.conversation(alice, bob)
    await _post(api, alice, room["id"], "one")
    async with socket(server, bob.token) as b:
        await b.subscribe(room["id"], after_seq=1)
        # An event for seq 3 while nothing after seq 1 is stored: the gap cannot be filled.
        await server.services.bus.publish(
            room["id"], event("message", room["id"], seq=3, message={"seq": 3})
        )
        assert await b.closed_with() == 1011
        assert b.conn.close_reason == "events_stalled"
        assert messages_of(b.frames, room["id"]) == []
    async with socket(server, bob.token) as b:
        assert (await b.subscribe(room["id"], after_seq=1))["last_seq"] == 1
        seq = await _post(api, alice, room["id"], "after the stall")
        assert await _until_seq(b, room["id"], seq) == [2]
