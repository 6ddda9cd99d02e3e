"""Each person's own channel: the conversation list moves live, notifications arrive."""

from __future__ import annotations

import pytest

from tests.server.live import Api, LiveServer, live_server, socket


async def _say(api: Api, user, conversation_id: str, text: str) -> dict:
    return await api.ok(
        "POST", f"/api/conversations/{conversation_id}/messages", user, json={"content": text}
    )


def _of(frames: list[dict], kind: str) -> list[dict]:
    return [f for f in frames if f["type"] == kind]


async def test_a_conversation_one_is_added_to_appears_and_counts_unread(
    api: Api, server: LiveServer
) -> None:
    alice, bob, carol = [await api.register(n) for n in ("Alice", "Bob", "Carol")]
    async with (
        socket(server, bob.token) as b,
        socket(server, bob.token) as b2,
        socket(server, carol.token) as c,
    ):
        room = await api.conversation(alice, bob, title="Launch")
        added = await b.until(lambda f: f["type"] == "conversation.added")
        assert added["conversation"]["title"] == "Launch" and added["conversation"]["unread"] == 0
        assert added["conversation"]["role"] == "member"
        await _say(api, alice, room["id"], "first news")
        activity = await b.until(lambda f: f["type"] == "conversation.activity")
        assert activity["unread"] == 1 and activity["last_message"]["text"] == "first news"
        assert activity["last_message"]["author"] == "Alice"

        # Reading on one device clears the count on the other.
        await api.ok("PUT", f"/api/conversations/{room['id']}/read", bob, json={"seq": 1})
        read = await b2.until(lambda f: f["type"] == "conversation.read")
        assert read["unread"] == 0 and read["last_read_seq"] == 1

        participants = f"/api/conversations/{room['id']}/participants"
        carol_row = await api.ok(
            "POST", participants, alice, json={"kind": "user", "user_id": carol.id}
        )
        added = await c.until(lambda f: f["type"] == "conversation.added")
        assert added["conversation_id"] == room["id"] and added["conversation"]["unread"] == 1

        await api.ok("PATCH", f"/api/conversations/{room['id']}", alice, json={"title": "Go live"})
        for client in (b, c):
            updated = await client.until(lambda f: f["type"] == "conversation.updated")
            assert updated["conversation"]["title"] == "Go live"

        await api.ok("DELETE", f"{participants}/{carol_row['id']}", alice)
        removed = await c.until(lambda f: f["type"] == "conversation.removed")
        assert removed == {
            "type": "conversation.removed",
            "conversation_id": room["id"],
            "reason": "removed",
        }
        bob_row = next(p for p in room["participants"] if p["user_id"] == bob.id)
        await api.ok("DELETE", f"{participants}/{bob_row['id']}", bob)
        assert (await b.until(lambda f: f["type"] == "conversation.removed"))["reason"] == "left"
    # Nobody outside heard of the room.
    assert not [f for f in c.frames if f.get("conversation_id") not in (None, room["id"])]


async def test_a_mention_notifies_the_person_and_muting_silences_it(
    api: Api, server: LiveServer
) -> None:
    alice, bob = await api.register("Alice"), await api.register("Bob Stone")
    room = await api.conversation(alice, bob)
    async with socket(server, bob.token) as b:
        await _say(api, alice, room["id"], "@bob_stone can you check the numbers?")
        note = await b.until(lambda f: f["type"] == "notification")
        assert note["notification"]["kind"] == "mention"
        assert note["notification"]["actor_name"] == "Alice" and note["unread_notifications"] == 1
        listed = await api.ok("GET", "/api/notifications", bob)
        assert listed["unread"] == 1 and listed["notifications"][0]["seq"] == 1
        # Alice cannot read or mark Bob's notifications.
        assert (await api.ok("GET", "/api/notifications", alice))["notifications"] == []
        marked = await api.ok(
            "POST", "/api/notifications/read", alice, json={"ids": [note["notification"]["id"]]}
        )
        assert marked["marked"] == 0
        assert (await api.ok("GET", "/api/notifications", bob))["unread"] == 1
        # Opening the conversation reads its notifications.
        await api.ok("PUT", f"/api/conversations/{room['id']}/read", bob, json={"seq": 1})
        assert (await api.ok("GET", "/api/notifications", bob))["unread"] == 0

        await api.ok("PUT", f"/api/conversations/{room['id']}/mute", bob, json={"muted": True})
        await _say(api, alice, room["id"], "@bob_stone again")
        activity = await b.until(lambda f: f["type"] == "conversation.activity" and f["seq"] == 2)
        assert activity["unread"] == 1 and activity["muted"] is True
        await server.services.activity.settle()
        assert not _of(b.frames, "notification")[1:]
        assert (await api.ok("GET", "/api/notifications", bob))["unread"] == 0
    bad = await api.call("POST", "/api/notifications/read", bob, json={"ids": "all"})
    assert bad.status_code == 422


async def test_an_agent_reply_notifies_a_person_who_is_elsewhere(
    api: Api, server: LiveServer
) -> None:
    alice, bob = await api.register("Alice"), await api.register("Bob")
    agent = await api.ok("POST", "/api/agents", alice, json={"name": "Scout"})
    room = await api.conversation(alice, bob, agents=(agent["id"],))
    away = await api.conversation(alice, bob, agents=(agent["id"],), title="Here")
    async with socket(server, bob.token) as b:
        # Bob is in the room "Here": a reply to him there is not a notification.
        await b.subscribe(away["id"])
        await _say(api, bob, away["id"], "@scout hello here")
        await b.until(lambda f: f["type"] == "turn.end")
        await _say(api, bob, room["id"], "@scout hello there")
        note = await b.until(lambda f: f["type"] == "notification")
        assert note["notification"]["kind"] == "reply"
        assert note["notification"]["conversation_id"] == room["id"]
        assert note["notification"]["actor_name"] == "Scout"
        await server.services.activity.settle()
        assert len(_of(b.frames, "notification")) == 1
    # Alice wrote nothing the agent answered: no notification for her.
    assert (await api.ok("GET", "/api/notifications", alice))["notifications"] == []


@pytest.mark.redis
async def test_the_list_moves_across_processes(make_settings, redis_url: str | None) -> None:
    if redis_url is None:
        pytest.skip("needs REDIS_URL: in-process buses do not cross servers")
    settings = make_settings()
    async with live_server(settings) as one, live_server(settings) as two:
        api = Api(one)
        alice, bob = await api.register("Alice"), await api.register("Bob")
        async with socket(two, bob.token) as b:
            room = await api.conversation(alice, bob, title="Elsewhere")
            added = await b.until(lambda f: f["type"] == "conversation.added")
            assert added["conversation_id"] == room["id"]
            await _say(api, alice, room["id"], "from the other process")
            activity = await b.until(lambda f: f["type"] == "conversation.activity")
            assert activity["unread"] == 1
        await api.close()


async def test_joining_a_group_brings_its_conversations_to_the_list(
    api: Api, server: LiveServer
) -> None:
    alice, bob = await api.register("Alice"), await api.register("Bob")
    agent = await api.ok("POST", "/api/agents", alice, json={"name": "Planner"})
    group = await api.ok("POST", "/api/groups", alice, json={"name": "Team"})
    members = f"/api/groups/{group['id']}/members"
    await api.ok("POST", members, alice, json={"kind": "agent", "agent_id": agent["id"]})
    room = await api.conversation(alice, group_id=group["id"], title="Team room")
    async with socket(server, bob.token) as b:
        joined = await api.ok("POST", members, alice, json={"kind": "user", "user_id": bob.id})
        assert joined["name"] == "Bob"
        added = await b.until(lambda f: f["type"] == "conversation.added")
        assert added["conversation_id"] == room["id"] and added["conversation"]["role"] == "member"
        listed = {m["name"]: m for m in await api.ok("GET", members, bob)}
        assert listed["Planner"]["handle"] == "planner" and listed["Alice"]["role"] == "admin"
        await api.ok("DELETE", f"{members}/{joined['id']}", bob)
        removed = await b.until(lambda f: f["type"] == "conversation.removed")
        assert removed["conversation_id"] == room["id"] and removed["reason"] == "left"
    assert (await api.call("GET", members, bob)).status_code == 404
