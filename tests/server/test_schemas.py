"""Bad input at the door, against a live server on the suite's backend: NUL characters, integers
beyond the columns, explicit `null` in PATCH bodies. Each is a 422 `invalid_request`, never a
500, over REST and the websocket alike."""

from __future__ import annotations

from typing import Any

import pytest

from server.schemas.agents import AgentUpdate
from server.schemas.base import In
from server.schemas.conversations import ConversationUpdate
from server.schemas.groups import GroupUpdate, MemberUpdate
from server.schemas.prompts import PromptUpdate
from tests.server.live import Api, LiveServer, User, socket


def assert_invalid(response: Any) -> dict[str, Any]:
    assert response.status_code == 422, f"{response.status_code} {response.text}"
    body = response.json()
    assert body["code"] == "invalid_request" and body["message"]
    return body


async def _world(api: Api) -> tuple[User, dict[str, str]]:
    alice = await api.register("Alice")
    agent = await api.ok("POST", "/api/agents", alice, json={"name": "Guide"})
    prompt = await api.ok("POST", "/api/prompts", alice, json={"title": "T", "content": "C"})
    group = await api.ok("POST", "/api/groups", alice, json={"name": "Team"})
    room = await api.conversation(alice)
    ids = {"agent": agent["id"], "prompt": prompt["id"], "group": group["id"], "room": room["id"]}
    return alice, ids


async def test_a_nul_in_any_url_is_refused(api: Api) -> None:
    alice, ids = await _world(api)
    for path in (
        f"/api/conversations/{ids['room']}%00",
        "/api/conversations/x%00y/messages",
        f"/api/conversations/{ids['room']}/messages?after_seq=0&limit=1%00",
        f"/api/agents/{ids['agent']}%00",
        "/api/agents/%00/tools/lookup",
        f"/api/prompts/{ids['prompt']}%00",
        f"/api/attachments?owner_type=agent&owner_id={ids['agent']}%00",
        f"/api/groups/{ids['group']}%00/members",
        "/api/users?query=a%00b",
    ):
        assert_invalid(await api.call("GET", path, alice))
    assert_invalid(await api.call("DELETE", "/api/agents/%00", alice))
    response = await api.call("PATCH", "/api/prompts/%00", alice, json={"title": "x"})
    assert_invalid(response)


async def test_a_nul_in_any_body_is_refused(api: Api) -> None:
    alice, ids = await _world(api)
    room = f"/api/conversations/{ids['room']}"
    cases = [
        ("POST", "/api/auth/login", {"email": "a\x00@example.com", "password": "x"}),
        ("POST", "/api/conversations", {"title": "a\x00b"}),
        ("POST", "/api/conversations", {"title": "a", "group_id": "\x00"}),
        ("POST", "/api/conversations", {"title": "a", "policy": {"speaker\x00": 1}}),
        ("PATCH", room, {"title": "t\x00"}),
        ("POST", f"{room}/messages", {"content": "hi\x00"}),
        ("POST", f"{room}/messages", {"content": "hi", "client_msg_id": "\x00"}),
        ("POST", f"{room}/messages", {"content": "hi", "attachments": [{"n": "\x00"}]}),
        ("POST", f"{room}/participants", {"kind": "user", "user_id": "\x00"}),
        ("POST", f"{room}/cancel", {"turn_id": "\x00"}),
        ("POST", "/api/agents", {"name": "N\x00"}),
        ("PATCH", f"/api/agents/{ids['agent']}", {"knowledge": {"k": ["\x00"]}}),
        ("PUT", f"/api/agents/{ids['agent']}/tools/lookup", {"config": {"a": "\x00"}}),
        ("POST", "/api/prompts", {"title": "T", "content": "C\x00"}),
        ("POST", "/api/groups", {"name": "\x00"}),
        ("POST", f"/api/groups/{ids['group']}/members", {"kind": "user", "user_id": "\x00"}),
        ("POST", "/api/attachments", {"owner_type": "agent", "owner_id": "\x00", "prompt_id": "p"}),
    ]
    for method, path, body in cases:
        found = assert_invalid(await api.call(method, path, alice, json=body))
        assert "NUL" in str(found["details"]), (method, path, found)


async def test_integers_beyond_the_columns_are_refused(api: Api) -> None:
    alice, ids = await _world(api)
    messages = f"/api/conversations/{ids['room']}/messages"
    for query in (
        f"after_seq={2**31}",
        f"after_seq={2**63}",
        f"after_seq={2**64 + 7}",
        f"limit={2**63}",
        "after_seq=-1",
    ):
        assert_invalid(await api.call("GET", f"{messages}?{query}", alice))
    page = await api.ok("GET", f"{messages}?after_seq={2**31 - 1}", alice)
    assert page["messages"] == []
    assert_invalid(await api.call("GET", f"/api/users?limit={2**63}", alice))


PATCHES = [
    ("agent", "/api/agents/{id}", ["name", "handle"]),
    ("prompt", "/api/prompts/{id}", ["title", "content"]),
    ("room", "/api/conversations/{id}", ["title"]),
    ("group", "/api/groups/{id}", ["name"]),
]


async def test_null_for_a_field_a_patch_cannot_clear_is_refused(api: Api) -> None:
    alice, ids = await _world(api)
    for kind, template, fields in PATCHES:
        path = template.format(id=ids[kind])
        before = await api.ok("GET", path, alice)
        for name in fields:
            found = assert_invalid(await api.call("PATCH", path, alice, json={name: None}))
            assert found["details"][0]["loc"] == ["body", name]
        assert await api.ok("GET", path, alice) == before
    # Fields that can be cleared still can.
    cleared = await api.ok("PATCH", f"/api/prompts/{ids['prompt']}", alice, json={"tags": None})
    assert cleared["tags"] is None
    path = f"/api/agents/{ids['agent']}"
    await api.ok("PATCH", path, alice, json={"description": "d", "goal": "g"})
    cleared = await api.ok("PATCH", path, alice, json={"description": None, "goal": None})
    assert (cleared["description"], cleared["goal"]) == ("", None)


@pytest.mark.parametrize(
    ("model", "required"),
    [
        (AgentUpdate, {"name", "handle"}),
        (PromptUpdate, {"title", "content"}),
        (ConversationUpdate, {"title"}),
        (GroupUpdate, {"name"}),
        (MemberUpdate, {"role"}),
    ],
)
def test_every_patch_schema_refuses_null_for_what_storage_requires(
    model: type[In], required: set[str]
) -> None:
    refused = set()
    for name in model.model_fields:
        try:
            model.model_validate({name: None})
        except ValueError:
            refused.add(name)
    assert required <= refused


async def test_bad_frames_are_error_frames_on_the_live_socket(api: Api, server: LiveServer) -> None:
    alice, ids = await _world(api)
    async with socket(server, alice.token) as client:
        for frame in (
            {"type": "subscribe", "conversation_id": ids["room"], "after_seq": 2**31},
            {"type": "subscribe", "conversation_id": ids["room"], "after_seq": 2**63},
            {"type": "subscribe", "conversation_id": f"{ids['room']}\x00"},
            {"type": "send", "conversation_id": ids["room"], "client_msg_id": "\x00"}
            | {"content": "hi"},
            {"type": "send", "conversation_id": ids["room"], "client_msg_id": "m"}
            | {"content": "h\x00i"},
            {"type": "typing", "conversation_id": "\x00"},
        ):
            answer = await client.request(frame)
            assert answer["type"] == "error" and answer["code"] == "invalid_frame", answer
        assert (await client.request({"type": "ping"}))["type"] == "pong"
    page = await api.ok("GET", f"/api/conversations/{ids['room']}/messages", alice)
    assert page["last_seq"] == 0
