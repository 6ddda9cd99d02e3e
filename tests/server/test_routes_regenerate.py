"""`POST .../messages/{seq}/regenerate`: another version of an agent reply, kept beside it."""

from __future__ import annotations

from typing import Any

from runtime.history import build_history
from tests.server.live import Api, LiveServer, User, socket


async def _agent(api: Api, owner: User, name: str = "Helper") -> dict[str, Any]:
    body = {"name": name, "description": "answers questions", "model": "offline:default"}
    return await api.ok("POST", "/api/agents", owner, json=body)


async def _page(api: Api, user: User, room: dict[str, Any]) -> list[dict[str, Any]]:
    page = await api.ok("GET", f"/api/conversations/{room['id']}/messages", user)
    return page["messages"]


def _regenerate(room: dict[str, Any], seq: int) -> str:
    return f"/api/conversations/{room['id']}/messages/{seq}/regenerate"


async def _answered_room(
    api: Api, server: LiveServer, alice: User, *others: User
) -> tuple[dict[str, Any], dict[str, Any], int]:
    helper = await _agent(api, alice)
    room = await api.conversation(alice, *others, agents=(helper["id"],))
    path = f"/api/conversations/{room['id']}/messages"
    await api.ok("POST", path, alice, json={"content": "@helper plan the launch"})
    await server.services.runtime.wait_idle(room["id"], 30)
    reply = (await _page(api, alice, room))[-1]
    assert reply["author"]["kind"] == "agent"
    return room, helper, reply["seq"]


async def test_a_regenerate_keeps_both_versions_in_seq_order(api: Api, server: LiveServer) -> None:
    alice, bob = await api.register("Alice"), await api.register("Bob")
    room, helper, first = await _answered_room(api, server, alice, bob)
    async with socket(server, bob.token) as b:
        await b.subscribe(room["id"], after_seq=first)
        ack = await api.call("POST", _regenerate(room, first), bob, json={"client_msg_id": "r1"})
        assert ack.status_code == 202, ack.text
        request = ack.json()
        assert request["seq"] == first + 1 and request["message"]["type"] == "regenerate"
        end = await b.until(lambda f: f["type"] == "turn.end")
        assert end["status"] == "completed" and end["message_seq"] == first + 2
    await server.services.runtime.wait_idle(room["id"], 30)
    messages = await _page(api, alice, room)
    assert [m["seq"] for m in messages] == list(range(1, first + 3))
    old, new = messages[first - 1], messages[first + 1]
    assert new["author"]["agent_id"] == helper["id"]
    regenerates = new["meta"]["regenerates"]
    assert regenerates == {
        "message_id": old["id"],
        "seq": first,
        "version_of": old["id"],
        "version": 2,
    }
    assert old["content"] and new["content"] and old["content"] != new["content"]
    assert "plan the launch" in new["content"]
    # Resending the same request stores nothing more.
    again = await api.call("POST", _regenerate(room, first), bob, json={"client_msg_id": "r1"})
    assert again.status_code == 200 and again.json()["seq"] == first + 1
    # A third version, from the second: every version points at the first.
    await api.ok("POST", _regenerate(room, first + 2), alice)
    await server.services.runtime.wait_idle(room["id"], 30)
    messages = await _page(api, alice, room)
    third = messages[-1]
    assert third["meta"]["regenerates"]["version_of"] == old["id"]
    assert third["meta"]["regenerates"]["version"] == 3
    assert [m["seq"] for m in messages] == list(range(1, first + 5))
    # Agents read only the newest version from then on.
    history = await build_history(server.services.db, room["id"], helper["id"], 50)
    own = [str(m.content) for m in history.messages if m.type == "ai"]
    assert own == [third["content"]]


async def test_only_an_agent_reply_can_be_regenerated(api: Api, server: LiveServer) -> None:
    alice, bob, olga, carol = [await api.register(n) for n in ("Alice", "Bob", "Olga", "Carol")]
    room, _, first = await _answered_room(api, server, alice, bob)
    observer = {"kind": "user", "user_id": olga.id, "role": "observer"}
    await api.ok("POST", f"/api/conversations/{room['id']}/participants", alice, json=observer)
    before = await _page(api, alice, room)
    response = await api.call("POST", _regenerate(room, 1), alice)  # a person's message
    assert response.status_code == 400 and response.json()["code"] == "not_agent_reply"
    response = await api.call("POST", _regenerate(room, first), olga)
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    response = await api.call("POST", _regenerate(room, first), carol)
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    response = await api.call("POST", _regenerate(room, 99), alice)
    assert response.status_code == 404
    response = await api.call("POST", _regenerate(room, first), alice, json={"x": 1})
    assert response.status_code == 422
    assert await _page(api, alice, room) == before
    # A regenerate request is not a message one can edit.
    await api.ok("POST", _regenerate(room, first), alice)
    await server.services.runtime.wait_idle(room["id"], 30)
    marker = f"/api/conversations/{room['id']}/messages/{first + 1}"
    response = await api.call("PATCH", marker, alice, json={"content": "x"})
    assert response.status_code == 409 and response.json()["code"] == "not_editable"
    response = await api.call("POST", _regenerate(room, first + 1), alice)
    assert response.status_code == 400 and response.json()["code"] == "not_agent_reply"
