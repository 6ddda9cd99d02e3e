"""Groups, members and group access to conversations; prompts and attachments."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.live import Api, LiveServer, User, live_server, socket


async def test_group_lifecycle_and_admin_rules(api: Api) -> None:
    alice, bob, carol = (
        await api.register("Alice"),
        await api.register("Bob"),
        await api.register("Carol"),
    )
    group = await api.ok("POST", "/api/groups", alice, json={"name": "Team"})
    assert group["role"] == "admin" and group["owner_id"] == alice.id
    members = f"/api/groups/{group['id']}/members"
    bob_member = await api.ok("POST", members, alice, json={"kind": "user", "user_id": bob.id})
    assert bob_member["role"] == "member"
    response = await api.call("POST", members, bob, json={"kind": "user", "user_id": carol.id})
    assert response.status_code == 403
    response = await api.call("POST", members, alice, json={"kind": "user", "user_id": bob.id})
    assert response.status_code == 409
    response = await api.call("POST", members, alice, json={"kind": "user"})
    assert response.status_code == 422
    assert (await api.call("GET", f"/api/groups/{group['id']}", carol)).status_code == 404
    assert [g["id"] for g in await api.ok("GET", "/api/groups", bob)] == [group["id"]]

    promoted = await api.ok("PATCH", f"{members}/{bob_member['id']}", alice, json={"role": "admin"})
    assert promoted["role"] == "admin"
    await api.ok("POST", members, bob, json={"kind": "user", "user_id": carol.id})
    assert (await api.ok("PATCH", f"/api/groups/{group['id']}", bob, json={"name": "Crew"}))[
        "name"
    ] == "Crew"
    assert (await api.call("DELETE", f"/api/groups/{group['id']}", bob)).status_code == 403
    owner = next(m for m in await api.ok("GET", members, alice) if m["user_id"] == alice.id)
    response = await api.call("DELETE", f"{members}/{owner['id']}", bob)
    assert response.status_code == 409
    assert (await api.call("DELETE", f"/api/groups/{group['id']}", alice)).status_code == 204


async def test_group_members_reach_group_conversations(api: Api) -> None:
    alice, bob = await api.register("Alice"), await api.register("Bob")
    group = await api.ok("POST", "/api/groups", alice, json={"name": "Team"})
    room = await api.ok(
        "POST", "/api/conversations", alice, json={"title": "Team room", "group_id": group["id"]}
    )
    assert (await api.call("GET", f"/api/conversations/{room['id']}", bob)).status_code == 404
    await api.ok(
        "POST",
        f"/api/groups/{group['id']}/members",
        alice,
        json={"kind": "user", "user_id": bob.id, "role": "observer"},
    )
    assert (await api.ok("GET", f"/api/conversations/{room['id']}", bob))["role"] == "observer"
    response = await api.call(
        "POST", f"/api/conversations/{room['id']}/messages", bob, json={"content": "hi"}
    )
    assert response.status_code == 403
    # Only members of the group may put a conversation in it.
    response = await api.call(
        "POST",
        "/api/conversations",
        (await api.register("Eve")),
        json={"title": "x", "group_id": group["id"]},
    )
    assert response.status_code == 404


async def test_prompts_and_attachments(api: Api) -> None:
    alice, bob = await api.register("Alice"), await api.register("Bob")
    prompt = await api.ok(
        "POST", "/api/prompts", alice, json={"title": "Tone", "content": "Be kind.", "tags": ["x"]}
    )
    assert prompt["created_by"] == alice.id and prompt["tags"] == ["x"]
    assert (await api.call("GET", f"/api/prompts/{prompt['id']}", bob)).status_code == 404
    assert await api.ok("GET", "/api/prompts", bob) == []
    edited = await api.ok(
        "PATCH", f"/api/prompts/{prompt['id']}", alice, json={"content": "Be warm."}
    )
    assert edited["content"] == "Be warm."

    agent = await api.ok("POST", "/api/agents", alice, json={"name": "Writer"})
    body = {"owner_type": "agent", "owner_id": agent["id"], "prompt_id": prompt["id"]}
    assert (await api.call("POST", "/api/attachments", bob, json=body)).status_code == 403
    attachment = await api.ok("POST", "/api/attachments", alice, json=body)
    listed = await api.ok("GET", f"/api/attachments?owner_type=agent&owner_id={agent['id']}", alice)
    assert [a["id"] for a in listed] == [attachment["id"]]
    assert (await api.ok("GET", f"/api/agents/{agent['id']}", alice))["version"] == 2
    assert (
        await api.call("DELETE", f"/api/attachments/{attachment['id']}", bob)
    ).status_code == 403
    assert (
        await api.call("DELETE", f"/api/attachments/{attachment['id']}", alice)
    ).status_code == 204
    assert (await api.call("DELETE", f"/api/prompts/{prompt['id']}", alice)).status_code == 204
    assert (await api.call("GET", f"/api/prompts/{prompt['id']}", alice)).status_code == 404


PARTICIPANT_FIELDS = {
    "id",
    "kind",
    "user_id",
    "agent_id",
    "role",
    "name",
    "handle",
    "is_removed",
    "added_at",
}


async def _group_room(api: Api, owner: User, *members: tuple[User, str]) -> tuple[dict, dict]:
    """A group with `members` (user, role) and a conversation in it; (group, room)."""
    group = await api.ok("POST", "/api/groups", owner, json={"name": "Team"})
    for member, role in members:
        await api.ok(
            "POST",
            f"/api/groups/{group['id']}/members",
            owner,
            json={"kind": "user", "user_id": member.id, "role": role},
        )
    room = await api.ok(
        "POST", "/api/conversations", owner, json={"title": "Team room", "group_id": group["id"]}
    )
    return group, room


async def _member_id(api: Api, owner: User, group: dict, who: User) -> str:
    members = await api.ok("GET", f"/api/groups/{group['id']}/members", owner)
    return next(m["id"] for m in members if m["user_id"] == who.id)


async def test_a_removed_group_member_loses_the_groups_conversations(
    api: Api, server: LiveServer
) -> None:
    """Removed from the group, a member who had posted there (and so has a participant row)
    can no longer read or post, over REST or on an open socket, and the room leaves their
    list; added back, they have it again."""
    alice, bob = await api.register("Alice"), await api.register("Bob")
    group, room = await _group_room(api, alice, (bob, "member"))
    messages = f"/api/conversations/{room['id']}/messages"
    await api.ok("POST", messages, bob, json={"client_msg_id": "b1", "content": "hello team"})
    async with socket(server, bob.token) as b, socket(server, alice.token) as a:
        await b.subscribe(room["id"])
        await a.subscribe(room["id"])
        member = await _member_id(api, alice, group, bob)
        response = await api.call("DELETE", f"/api/groups/{group['id']}/members/{member}", alice)
        assert response.status_code == 204
        gone = await b.until(lambda f: f["type"] == "unsubscribed")
        assert gone == {"type": "unsubscribed", "conversation_id": room["id"], "reason": "removed"}
        removed = await a.until(lambda f: f["type"] == "participant.removed")
        assert removed["user_id"] == bob.id
        # Nothing of the room reaches Bob's socket any more, and it refuses him.
        await api.ok("POST", messages, alice, json={"client_msg_id": "a1", "content": "secret"})
        await a.until(lambda f: f["type"] == "message" and f["message"]["content"] == "secret")
        answer = await b.request(
            {"type": "send", "conversation_id": room["id"], "client_msg_id": "b2", "content": "x"}
        )
        assert answer["type"] == "error" and answer["code"] == "not_found"
        answer = await b.request({"type": "subscribe", "conversation_id": room["id"]})
        assert answer["type"] == "error" and answer["code"] == "not_found"
        assert [f["seq"] for f in b.frames if f.get("type") == "message"] == [1]
    for method, path, body in (
        ("GET", f"/api/conversations/{room['id']}", None),
        ("GET", messages, None),
        ("POST", messages, {"client_msg_id": "b3", "content": "still here?"}),
    ):
        response = await api.call(method, path, bob, json=body)
        assert response.status_code == 404, (method, path, response.text)
    assert room["id"] not in [c["id"] for c in await api.ok("GET", "/api/conversations", bob)]

    await api.ok(
        "POST",
        f"/api/groups/{group['id']}/members",
        alice,
        json={"kind": "user", "user_id": bob.id},
    )
    assert room["id"] in [c["id"] for c in await api.ok("GET", "/api/conversations", bob)]
    await api.ok("POST", messages, bob, json={"client_msg_id": "b4", "content": "back"})


async def test_a_member_demoted_to_observer_can_no_longer_send(
    api: Api, server: LiveServer
) -> None:
    alice, bob = await api.register("Alice"), await api.register("Bob")
    group, room = await _group_room(api, alice, (bob, "member"))
    messages = f"/api/conversations/{room['id']}/messages"
    await api.ok("POST", messages, bob, json={"client_msg_id": "b1", "content": "first"})
    async with socket(server, bob.token) as b:
        await b.subscribe(room["id"])
        member = await _member_id(api, alice, group, bob)
        await api.ok(
            "PATCH", f"/api/groups/{group['id']}/members/{member}", alice, json={"role": "observer"}
        )
        send = {"type": "send", "conversation_id": room["id"], "content": "second"}
        answer = await b.request({**send, "client_msg_id": "b2"})
        assert answer["type"] == "error" and answer["code"] == "forbidden", answer
        response = await api.call("POST", messages, bob, json={"content": "third"})
        assert response.status_code == 403 and response.json()["code"] == "forbidden"
        assert (await api.ok("GET", f"/api/conversations/{room['id']}", bob))["role"] == "observer"
        # Reading still works, and promotion gives the voice back at once.
        await api.ok(
            "PATCH", f"/api/groups/{group['id']}/members/{member}", alice, json={"role": "member"}
        )
        assert (await b.request({**send, "client_msg_id": "b3"}))["type"] == "ack"
    page = await api.ok("GET", messages, bob)
    assert [m["content"] for m in page["messages"]] == ["first", "second"]


async def test_a_group_observer_cannot_open_a_conversation_in_the_group(api: Api) -> None:
    alice, olga, mo = (
        await api.register("Alice"),
        await api.register("Olga"),
        await api.register("Mo"),
    )
    group, _ = await _group_room(api, alice, (olga, "observer"), (mo, "member"))
    body = {"title": "Mine", "group_id": group["id"]}
    response = await api.call("POST", "/api/conversations", olga, json=body)
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert "Mine" not in [c["title"] for c in await api.ok("GET", "/api/conversations", alice)]
    assert (await api.call("POST", "/api/conversations", mo, json=body)).status_code == 201


async def test_the_groups_agents_answer_in_its_conversations(api: Api, server: LiveServer) -> None:
    """An agent in the group answers an @mention in the group's conversations, whether it
    joined the group before or after the conversation was opened; leaving the group ends it."""
    alice, bob = await api.register("Alice"), await api.register("Bob")
    coach = await api.ok("POST", "/api/agents", alice, json={"name": "Coach", "handle": "coach"})
    group = await api.ok("POST", "/api/groups", alice, json={"name": "Team"})
    members = f"/api/groups/{group['id']}/members"
    await api.ok("POST", members, alice, json={"kind": "user", "user_id": bob.id})
    before = await api.ok(
        "POST", "/api/conversations", alice, json={"title": "Before", "group_id": group["id"]}
    )
    async with socket(server, bob.token) as b:
        await b.subscribe(before["id"])
        agent_member = await api.ok(
            "POST", members, alice, json={"kind": "agent", "agent_id": coach["id"]}
        )
        joined = await b.until(lambda f: f["type"] == "participant.added")
        assert joined["participant"]["agent_id"] == coach["id"]
        # Frames carry an agent's public profile only, never its definition.
        assert set(joined["participant"]) == PARTICIPANT_FIELDS
        after = await api.ok(
            "POST", "/api/conversations", alice, json={"title": "After", "group_id": group["id"]}
        )
        assert coach["id"] in [p["agent_id"] for p in after["participants"]]
        await b.subscribe(after["id"])
        for room in (before, after):
            ack = await b.request(
                {
                    "type": "send",
                    "conversation_id": room["id"],
                    "client_msg_id": f"q-{room['id']}",
                    "content": "@coach how do I start?",
                }
            )
            assert ack["type"] == "ack", ack
            reply = await b.until(
                lambda f, room=room: (
                    f["type"] == "message"
                    and f["conversation_id"] == room["id"]
                    and f["message"]["author"]["agent_id"] == coach["id"]
                )
            )
            assert reply["message"]["content"].startswith("Coach")
            start = next(f for f in b.frames if f["type"] == "turn.start")
            assert start["agent"] == {"id": coach["id"], "name": "Coach", "handle": "coach"}
        await api.ok("DELETE", f"{members}/{agent_member['id']}", alice)
        left = await b.until(lambda f: f["type"] == "participant.removed")
        assert left["agent_id"] == coach["id"]
    rooms = {r["id"]: r for r in (before, after)}
    for room_id in rooms:
        participants = await api.ok("GET", f"/api/conversations/{room_id}/participants", bob)
        assert coach["id"] not in [p["agent_id"] for p in participants]


@pytest.mark.redis
async def test_leaving_a_group_through_one_server_cuts_a_socket_on_the_other(
    make_settings: Any, redis_url: str | None
) -> None:
    if redis_url is None:
        pytest.skip("needs REDIS_URL: in-process buses do not cross servers")
    settings = make_settings()
    async with live_server(settings) as one, live_server(settings) as two:
        api = Api(one)
        try:
            alice, bob = await api.register("Alice"), await api.register("Bob")
            group, room = await _group_room(api, alice, (bob, "member"))
            async with socket(two, bob.token) as b:
                await b.subscribe(room["id"])
                member = await _member_id(api, alice, group, bob)
                await api.ok("DELETE", f"/api/groups/{group['id']}/members/{member}", alice)
                gone = await b.until(lambda f: f["type"] == "unsubscribed")
                assert gone["reason"] == "removed"
        finally:
            await api.close()
