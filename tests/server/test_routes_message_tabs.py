"""`PATCH /api/conversations/{id}/messages/{message_id}/tabs` and the `message.tagged` frame:
who may tag, what is refused, the live event in the room, and the state a resume delivers."""

from __future__ import annotations

from typing import Any

from store.message_tabs import MAX_TAG_CHARS, MAX_TAGS
from tests.server.live import Api, LiveServer, User, socket


async def _room(api: Api, owner: User, member: User, observer: User) -> dict[str, Any]:
    participants = [
        {"kind": "user", "user_id": member.id},
        {"kind": "user", "user_id": observer.id, "role": "observer"},
    ]
    body = {"title": "Tabs", "participants": participants}
    return await api.ok("POST", "/api/conversations", owner, json=body)


async def _post(api: Api, room: dict[str, Any], user: User, text: str) -> dict[str, Any]:
    path = f"/api/conversations/{room['id']}/messages"
    return (await api.ok("POST", path, user, json={"content": text}))["message"]


def _tabs(room: dict[str, Any], message: dict[str, Any]) -> str:
    return f"/api/conversations/{room['id']}/messages/{message['id']}/tabs"


async def test_a_member_tags_a_message_and_everyone_in_the_room_sees_it_live(
    api: Api, server: LiveServer
) -> None:
    alice, bob, olga = [await api.register(n) for n in ("Alice", "Bob", "Olga")]
    room = await _room(api, alice, bob, olga)
    message = await _post(api, room, alice, "ship the release notes")
    async with socket(server, olga.token) as watcher:
        await watcher.subscribe(room["id"])
        body = {"tab": "todo", "tags": [" release ", "docs", "Docs"]}
        answer = await api.ok("PATCH", _tabs(room, message), bob, json=body)
        assert answer["tab"] == "todo" and answer["tags"] == ["release", "docs"]
        assert answer["seq"] == message["seq"] and answer["tagged_by"]["id"] == bob.id
        frame = await watcher.until(lambda f: f["type"] == "message.tagged")
    assert frame["message_id"] == message["id"] and frame["seq"] == message["seq"]
    assert (frame["tab"], frame["tags"]) == ("todo", ["release", "docs"])
    assert frame["tagged_by"] == {"id": bob.id, "name": "Bob"}
    assert frame["tagged_at"] == answer["tagged_at"]
    # Stored: a page read later shows it, and the delivery status is untouched.
    page = await api.ok("GET", f"/api/conversations/{room['id']}/messages", olga)
    [stored] = page["messages"]
    assert (stored["tab"], stored["tags"], stored["status"]) == (
        "todo",
        ["release", "docs"],
        "complete",
    )


async def test_a_field_left_out_keeps_its_value_and_null_clears_it(api: Api) -> None:
    alice = await api.register("Alice")
    room = await api.conversation(alice)
    message = await _post(api, room, alice, "hello")
    await api.ok("PATCH", _tabs(room, message), alice, json={"tab": "now", "tags": ["a"]})
    only_tags = await api.ok("PATCH", _tabs(room, message), alice, json={"tags": ["b"]})
    assert (only_tags["tab"], only_tags["tags"]) == ("now", ["b"])
    cleared = await api.ok("PATCH", _tabs(room, message), alice, json={"tab": None})
    assert (cleared["tab"], cleared["tags"]) == (None, ["b"])
    emptied = await api.ok("PATCH", _tabs(room, message), alice, json={"tags": []})
    assert emptied["tags"] == []


async def test_an_observer_may_read_tabs_but_not_set_them(api: Api) -> None:
    alice, bob, olga = [await api.register(n) for n in ("Alice", "Bob", "Olga")]
    room = await _room(api, alice, bob, olga)
    message = await _post(api, room, alice, "hello")
    response = await api.call("PATCH", _tabs(room, message), olga, json={"tab": "top"})
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    page = await api.ok("GET", f"/api/conversations/{room['id']}/messages", alice)
    assert page["messages"][0]["tab"] is None


async def test_strangers_and_other_rooms_message_ids_are_not_found(api: Api) -> None:
    alice, mallory = await api.register("Alice"), await api.register("Mallory")
    room = await api.conversation(alice)
    message = await _post(api, room, alice, "private")
    stranger = await api.call("PATCH", _tabs(room, message), mallory, json={"tab": "top"})
    assert stranger.status_code == 404 and stranger.json()["code"] == "not_found"
    # Mallory's own room, Alice's message id: not found, and Alice's message is untouched.
    own = await api.conversation(mallory)
    crossed = await api.call("PATCH", _tabs(own, message), mallory, json={"tab": "top"})
    assert crossed.status_code == 404 and crossed.json()["code"] == "not_found"
    unknown = await api.call(
        "PATCH", _tabs(room, {"id": "01JUNKNOWNUNKNOWNUNKNOWN00"}), alice, json={"tab": "top"}
    )
    assert unknown.status_code == 404
    page = await api.ok("GET", f"/api/conversations/{room['id']}/messages", alice)
    assert page["messages"][0]["tab"] is None and page["messages"][0]["tagged_at"] is None
    unauthenticated = await api.call("PATCH", _tabs(room, message), None, json={"tab": "top"})
    assert unauthenticated.status_code == 401


async def test_bad_tabs_and_tags_are_refused_naming_the_field_and_store_nothing(
    api: Api,
) -> None:
    alice = await api.register("Alice")
    room = await api.conversation(alice)
    message = await _post(api, room, alice, "hello")
    bad: list[tuple[dict[str, Any], str]] = [
        ({"tab": "complete"}, "tab"),  # a delivery status is not a tab
        ({"tab": "urgent"}, "tab"),
        ({"tab": 3}, "tab"),
        ({"tags": [f"t{i}" for i in range(MAX_TAGS + 1)]}, "tags"),
        ({"tags": ["x" * (MAX_TAG_CHARS + 1)]}, "tags"),
        ({"tags": ["   "]}, "tags"),
        ({"tags": "release"}, "tags"),
        ({"tags": ["a\x00b"]}, "tags"),
        ({}, "body"),
        ({"tab": "now", "colour": "red"}, "colour"),
    ]
    for body, field in bad:
        response = await api.call("PATCH", _tabs(room, message), alice, json=body)
        assert response.status_code == 422, (body, response.text)
        answer = response.json()
        assert answer["code"] == "invalid_request", (body, answer)
        assert field in str(answer.get("details")) or field == "body", (body, answer)
    page = await api.ok("GET", f"/api/conversations/{room['id']}/messages", alice)
    assert page["messages"][0]["tab"] is None and page["messages"][0]["tags"] == []


async def test_a_resume_delivers_the_current_tabs_of_messages_already_held(
    api: Api, server: LiveServer
) -> None:
    alice, bob = await api.register("Alice"), await api.register("Bob")
    room = await api.conversation(alice, bob)
    first = await _post(api, room, alice, "one")
    second = await _post(api, room, alice, "two")
    third = await _post(api, room, alice, "three")
    # While Bob is away: a tab set, another set then cleared, one never touched.
    await api.ok("PATCH", _tabs(room, first), alice, json={"tab": "done", "tags": ["x"]})
    await api.ok("PATCH", _tabs(room, second), alice, json={"tab": "top"})
    await api.ok("PATCH", _tabs(room, second), alice, json={"tab": None})
    async with socket(server, bob.token) as bob_socket:
        await bob_socket.subscribe(room["id"], after_seq=third["seq"] - 1)
    tagged = {f["seq"]: f for f in bob_socket.frames if f["type"] == "message.tagged"}
    assert set(tagged) == {first["seq"], second["seq"]}
    assert (tagged[first["seq"]]["tab"], tagged[first["seq"]]["tags"]) == ("done", ["x"])
    assert tagged[second["seq"]]["tab"] is None and tagged[first["seq"]]["tagged_by"] is None
    # The message replayed after `after_seq` carries its state itself, not as a second frame.
    replayed = [f for f in bob_socket.frames if f["type"] == "message"]
    assert [f["seq"] for f in replayed] == [third["seq"]]
    assert replayed[0]["message"]["tab"] is None
