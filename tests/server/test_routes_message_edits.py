"""Editing and deleting one's own messages over REST, the frames that announce it, and what
agents read afterwards."""

from __future__ import annotations

from typing import Any

from runtime.history import build_history
from store.conversations import Conversations
from tests.server.live import Api, LiveServer, User, socket


async def _agent(api: Api, owner: User, name: str = "Helper") -> dict[str, Any]:
    body = {"name": name, "description": "answers questions", "model": "offline:default"}
    return await api.ok("POST", "/api/agents", owner, json=body)


async def _send(api: Api, user: User, room: dict[str, Any], content: str) -> dict[str, Any]:
    path = f"/api/conversations/{room['id']}/messages"
    return await api.ok("POST", path, user, json={"content": content})


def _path(room: dict[str, Any], seq: int) -> str:
    return f"/api/conversations/{room['id']}/messages/{seq}"


async def _page(api: Api, user: User, room: dict[str, Any]) -> list[dict[str, Any]]:
    page = await api.ok("GET", f"/api/conversations/{room['id']}/messages", user)
    return page["messages"]


async def test_an_edit_keeps_the_seq_and_the_earlier_text(api: Api) -> None:
    alice, bob = await api.register("Alice"), await api.register("Bob")
    room = await api.conversation(alice, bob)
    sent = await _send(api, alice, room, "the launch is on monday")
    await _send(api, bob, room, "ok")
    edited = await api.ok(
        "PATCH", _path(room, sent["seq"]), alice, json={"content": "the launch is on tuesday"}
    )
    assert edited["seq"] == sent["seq"] and edited["content"] == "the launch is on tuesday"
    assert edited["edited_at"] is not None and edited["edit_seq"] == 1
    assert edited["deleted"] is False
    messages = await _page(api, bob, room)
    assert [m["seq"] for m in messages] == [1, 2]
    assert messages[0]["content"] == "the launch is on tuesday" and messages[0]["edited_at"]
    assert messages[1]["edited_at"] is None
    again = await api.ok("PATCH", _path(room, 1), alice, json={"content": "on wednesday"})
    assert again["edit_seq"] == 2
    history = await api.ok("GET", f"{_path(room, 1)}/edits", alice)
    assert [h["previous_content"] for h in history] == [
        "the launch is on monday",
        "the launch is on tuesday",
    ]
    assert [h["edit_seq"] for h in history] == [1, 2]
    # The earlier versions are the author's: the room sees the message, not what it said.
    refused = await api.call("GET", f"{_path(room, 1)}/edits", bob)
    assert refused.status_code == 403 and refused.json()["code"] == "not_author"


async def test_a_delete_leaves_a_tombstone_with_its_seq(api: Api) -> None:
    alice, bob = await api.register("Alice"), await api.register("Bob")
    room = await api.conversation(alice, bob)
    await _send(api, alice, room, "a secret I regret")
    await api.ok("PATCH", _path(room, 1), alice, json={"content": "a secret, edited"})
    await _send(api, bob, room, "what?")
    deleted = await api.ok("DELETE", _path(room, 1), alice)
    assert deleted["deleted"] is True and deleted["content"] == "" and deleted["seq"] == 1
    messages = await _page(api, bob, room)
    assert [m["seq"] for m in messages] == [1, 2]
    assert messages[0]["deleted"] is True and messages[0]["content"] == ""
    assert "secret" not in str(messages)
    # The versions went with it.
    assert await api.ok("GET", f"{_path(room, 1)}/edits", alice) == []
    # A tombstone cannot be edited or deleted again.
    for method, body in (("PATCH", {"json": {"content": "back"}}), ("DELETE", {})):
        response = await api.call(method, _path(room, 1), alice, **body)
        assert response.status_code == 409 and response.json()["code"] == "not_editable"


async def test_only_the_author_may_change_a_message(api: Api, server: LiveServer) -> None:
    alice, bob, carol = [await api.register(n) for n in ("Alice", "Bob", "Carol")]
    helper = await _agent(api, alice)
    room = await api.conversation(alice, bob, agents=(helper["id"],))
    await _send(api, alice, room, "@helper hello there")
    await server.services.runtime.wait_idle(room["id"], 30)
    messages = await _page(api, alice, room)
    agent_seq = next(m["seq"] for m in messages if m["author"]["kind"] == "agent")
    # Someone else's message: refused, for the room's admin too.
    for user, seq in ((bob, 1), (alice, agent_seq)):
        for method, body in (("PATCH", {"json": {"content": "mine now"}}), ("DELETE", {})):
            response = await api.call(method, _path(room, seq), user, **body)
            assert response.status_code == 403, response.text
            assert response.json()["code"] == "not_author"
    # Not in the room: as if it did not exist.
    response = await api.call("PATCH", _path(room, 1), carol, json={"content": "x"})
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    # A seq with no message.
    response = await api.call("PATCH", _path(room, 99), alice, json={"content": "x"})
    assert response.status_code == 404
    messages = await _page(api, alice, room)
    assert messages[0]["content"] == "@helper hello there"
    assert all(m["edited_at"] is None and not m["deleted"] for m in messages)


async def test_someone_who_left_cannot_change_their_messages(api: Api, server: LiveServer) -> None:
    alice, bob = await api.register("Alice"), await api.register("Bob")
    room = await api.conversation(alice, bob)
    await _send(api, bob, room, "from bob")
    await _send(api, alice, room, "from alice")
    bob_row = await Conversations(server.services.db).participant_for_user(room["id"], bob.id)
    assert bob_row is not None
    path = f"/api/conversations/{room['id']}/participants"
    await api.ok("DELETE", f"{path}/{bob_row.id}", bob)  # Bob leaves
    for method, body in (("PATCH", {"json": {"content": "edited"}}), ("DELETE", {})):
        response = await api.call(method, _path(room, 1), bob, **body)
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert (await _page(api, alice, room))[0]["content"] == "from bob"


async def test_an_observer_cannot_edit(api: Api) -> None:
    alice, olga = await api.register("Alice"), await api.register("Olga")
    room = await api.ok(
        "POST",
        "/api/conversations",
        alice,
        json={
            "title": "Room",
            "participants": [{"kind": "user", "user_id": olga.id, "role": "observer"}],
        },
    )
    await _send(api, alice, room, "hello")
    response = await api.call("PATCH", _path(room, 1), olga, json={"content": "x"})
    assert response.status_code == 403 and response.json()["code"] == "forbidden"


async def test_an_edit_is_bounded_like_a_send(api: Api, server: LiveServer) -> None:
    alice = await api.register("Alice")
    room = await api.conversation(alice)
    await _send(api, alice, room, "short")
    limit = server.services.settings.max_message_chars
    for content, status in (("x" * (limit + 1), 400), ("   ", 400), ("", 422), ("a\u0000b", 422)):
        response = await api.call("PATCH", _path(room, 1), alice, json={"content": content})
        assert response.status_code == status, (len(content), response.text)
        assert response.json()["code"] == "invalid_request"
    for extra in ({"content": "x", "seq": 3}, {"text": "x"}):
        response = await api.call("PATCH", _path(room, 1), alice, json=extra)
        assert response.status_code == 422
    for seq in (0, 2**31):
        response = await api.call("PATCH", _path(room, seq), alice, json={"content": "x"})
        assert response.status_code == 422
    assert (await _page(api, alice, room))[0]["content"] == "short"
    ok = await api.ok("PATCH", _path(room, 1), alice, json={"content": "y" * limit})
    assert len(ok["content"]) == limit


async def test_edits_and_deletes_are_announced_to_the_room(api: Api, server: LiveServer) -> None:
    alice, bob = await api.register("Alice"), await api.register("Bob")
    room = await api.conversation(alice, bob)
    await _send(api, alice, room, "first")
    await _send(api, alice, room, "second")
    async with socket(server, bob.token) as b:
        await b.subscribe(room["id"], after_seq=2)
        await api.ok("PATCH", _path(room, 1), alice, json={"content": "first, edited"})
        updated = await b.until(lambda f: f["type"] == "message.updated")
        assert updated["conversation_id"] == room["id"] and updated["seq"] == 1
        assert updated["edit_seq"] == 1 and updated["message"]["content"] == "first, edited"
        await api.ok("DELETE", _path(room, 2), alice)
        deleted = await b.until(lambda f: f["type"] == "message.deleted")
        assert deleted["seq"] == 2 and deleted["edit_seq"] == 2
        assert deleted["message"]["deleted"] is True and deleted["message"]["content"] == ""
        assert not [f for f in b.frames if f["type"] == "message"]


async def test_agents_read_the_edited_text_and_not_the_deleted_one(
    api: Api, server: LiveServer
) -> None:
    alice = await api.register("Alice")
    helper = await _agent(api, alice)
    room = await api.conversation(alice, agents=(helper["id"],))
    await _send(api, alice, room, "my budget is ten thousand")
    await _send(api, alice, room, "my password is hunter2")
    await server.services.runtime.wait_idle(room["id"], 30)
    messages = await _page(api, alice, room)
    mine = [m["seq"] for m in messages if m["author"]["kind"] == "user"]
    await api.ok("PATCH", _path(room, mine[0]), alice, json={"content": "my budget is five"})
    await api.ok("DELETE", _path(room, mine[1]), alice)
    history = await build_history(server.services.db, room["id"], helper["id"], 50)
    # What Alice said, as the agent reads it (its own replies quoted her before the change).
    said = [str(m.content) for m in history.messages if str(m.content).startswith("Alice:")]
    assert said == ["Alice: my budget is five"]
    # The next turn answers from the edited window.
    await _send(api, alice, room, "what is my budget?")
    await server.services.runtime.wait_idle(room["id"], 30)
    reply = (await _page(api, alice, room))[-1]
    assert reply["author"]["kind"] == "agent" and "budget" in reply["content"]
