"""Resume after edits and deletes: an edit keeps its seq, so a client resuming by seq learns of
it by `edit_seq` (server/ws/edit_replay.py)."""

from __future__ import annotations

from typing import Any

from tests.server.live import Api, LiveServer, socket


async def _send(api: Api, user: Any, room: dict[str, Any], content: str) -> None:
    await api.ok(
        "POST", f"/api/conversations/{room['id']}/messages", user, json={"content": content}
    )


def _path(room: dict[str, Any], seq: int) -> str:
    return f"/api/conversations/{room['id']}/messages/{seq}"


async def test_a_resume_delivers_the_changes_made_while_away(api: Api, server: LiveServer) -> None:
    alice, bob = await api.register("Alice"), await api.register("Bob")
    room = await api.conversation(alice, bob)
    for text in ("one", "two", "three"):
        await _send(api, alice, room, text)
    async with socket(server, bob.token) as b:
        first = await b.subscribe(room["id"])
        assert first["last_seq"] == 3 and first["last_edit_seq"] == 0
    # While Bob is away: one message edited twice, one deleted, a new one posted and edited.
    await api.ok("PATCH", _path(room, 1), alice, json={"content": "one, edited"})
    await api.ok("PATCH", _path(room, 1), alice, json={"content": "one, edited again"})
    await api.ok("DELETE", _path(room, 2), alice)
    await _send(api, alice, room, "four")
    await api.ok("PATCH", _path(room, 4), alice, json={"content": "four, edited"})
    async with socket(server, bob.token) as b:
        subscribed = await b.subscribe(room["id"], after_seq=3)
        assert subscribed["last_seq"] == 4 and subscribed["last_edit_seq"] == 4
        frames = [f for f in b.frames if f.get("conversation_id") == room["id"]]
        kinds = [(f["type"], f.get("seq")) for f in frames if f["type"] != "subscribed"]
        # The new message comes with its current text; the older ones as changes, once each.
        assert kinds == [("message", 4), ("message.updated", 1), ("message.deleted", 2)]
        assert frames[0]["message"]["content"] == "four, edited"
        assert frames[1]["message"]["content"] == "one, edited again"
        assert frames[1]["edit_seq"] == 2 and frames[1]["resumed"] is True
        assert frames[2]["message"]["deleted"] is True and frames[2]["message"]["content"] == ""
    # A client that says which changes it saw gets only the later ones.
    await api.ok("PATCH", _path(room, 3), alice, json={"content": "three, edited"})
    async with socket(server, bob.token) as b:
        answer = await b.request(
            {
                "type": "subscribe",
                "conversation_id": room["id"],
                "after_seq": 4,
                "after_edit_seq": 4,
            }
        )
        assert answer["type"] == "subscribed" and answer["last_edit_seq"] == 5
        changes = [f for f in b.frames if f["type"].startswith("message")]
        assert [(f["type"], f["seq"]) for f in changes] == [("message.updated", 3)]
    # From 0 there is nothing to catch up on: every message comes in its current state.
    async with socket(server, bob.token) as b:
        await b.subscribe(room["id"])
        assert [f["type"] for f in b.frames if f["type"].startswith("message")] == ["message"] * 4
        assert [f["message"]["content"] for f in b.frames if f["type"] == "message"] == [
            "one, edited again",
            "",
            "three, edited",
            "four, edited",
        ]


async def test_after_edit_seq_is_checked_like_after_seq(api: Api, server: LiveServer) -> None:
    alice = await api.register("Alice")
    room = await api.conversation(alice)
    async with socket(server, alice.token) as a:
        for bad in ("3", -1, 2**31, True):
            answer = await a.request(
                {"type": "subscribe", "conversation_id": room["id"], "after_edit_seq": bad}
            )
            assert answer["type"] == "error" and answer["code"] == "invalid_frame", bad
            assert answer["details"][0]["field"] == "after_edit_seq"
        assert (await a.subscribe(room["id"]))["last_edit_seq"] == 0
