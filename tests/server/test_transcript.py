"""Poisoned attachments: refused at the door (REST and websocket), harmless once stored."""

from __future__ import annotations

from typing import Any

import pytest

from server.schemas.base import MAX_ATTACHMENTS, MAX_ATTACHMENTS_DEPTH
from store.conversations import Conversations
from store.messages import Messages
from tests.server.live import Api, LiveServer, socket


def nested(depth: int) -> Any:
    """`depth` lists, one inside the other, around a string."""
    value: Any = "deep"
    for _ in range(depth):
        value = [value]
    return value


async def test_deep_or_huge_attachments_are_refused_over_rest(api: Api) -> None:
    alice = await api.register("Alice")
    room = await api.conversation(alice)
    path = f"/api/conversations/{room['id']}/messages"
    for attachments in (
        [nested(260)],
        [nested(MAX_ATTACHMENTS_DEPTH + 1)],
        [{"name": "x" * 70_000}],
        [{"n": i} for i in range(MAX_ATTACHMENTS + 1)],
    ):
        response = await api.call(
            "POST", path, alice, json={"content": "look", "attachments": attachments}
        )
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "invalid_request"
        assert response.json()["details"][0]["loc"][:2] == ["body", "attachments"]
    fine = [{"name": "plan.pdf", "meta": nested(MAX_ATTACHMENTS_DEPTH - 1)}]
    sent = await api.ok("POST", path, alice, json={"content": "ok", "attachments": fine})
    page = await api.ok("GET", path, alice)
    assert page["last_seq"] == sent["seq"] == 1
    assert page["messages"][0]["attachments"] == fine


async def test_deep_attachments_are_refused_over_the_websocket(
    api: Api, server: LiveServer
) -> None:
    alice = await api.register("Alice")
    room = await api.conversation(alice)
    async with socket(server, alice.token) as client:
        answer = await client.request(
            {
                "type": "send",
                "conversation_id": room["id"],
                "client_msg_id": "poison",
                "content": "look",
                "attachments": [nested(260)],
            }
        )
        assert answer["type"] == "error" and answer["code"] == "invalid_frame"
        assert answer["details"][0]["field"] == "attachments.0"
        assert "nested deeper than 8 levels" in answer["details"][0]["error"]
        assert (await client.request({"type": "ping"}))["type"] == "pong"
    page = await api.ok("GET", f"/api/conversations/{room['id']}/messages", alice)
    assert page["last_seq"] == 0


@pytest.mark.parametrize("depth", [260, 900])
async def test_a_stored_poison_row_breaks_neither_the_page_nor_the_resume(
    api: Api, server: LiveServer, depth: int
) -> None:
    """A row stored before attachments were checked: every participant can still read."""
    alice, bob = await api.register("Alice"), await api.register("Bob")
    room = await api.conversation(alice, bob)
    db = server.services.db
    author = await Conversations(db).participant_for_user(room["id"], alice.id)
    assert author is not None
    messages = Messages(db)
    await messages.append(room["id"], "before", author_participant_id=author.id)
    await messages.append(
        room["id"], "poison", author_participant_id=author.id, attachments=[nested(depth)]
    )
    await messages.append(room["id"], "after", author_participant_id=author.id)

    for user in (alice, bob):
        response = await api.call("GET", f"/api/conversations/{room['id']}/messages", user)
        assert response.status_code == 200, response.text
        page = response.json()["messages"]
        assert [m["content"] for m in page] == ["before", "poison", "after"]
        [notice] = page[1]["attachments"]
        assert notice["type"] == "unavailable" and "nested deeper" in notice["reason"]
        assert page[0]["attachments"] == page[2]["attachments"] == []

    async with socket(server, bob.token) as client:
        await client.subscribe(room["id"], after_seq=0)
        while len([f for f in client.frames if f["type"] == "message"]) < 3:
            await client.recv()
    replayed = [f for f in client.frames if f["type"] == "message"]
    assert [f["seq"] for f in replayed] == [1, 2, 3]
    assert replayed[1]["message"]["attachments"][0]["type"] == "unavailable"
