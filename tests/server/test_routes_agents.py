"""Agents, tool grants and memories over REST: who may read, edit, grant and delete."""

from __future__ import annotations

from store.db import Database
from store.memories import Memories
from tests.server.live import Api


async def test_agent_crud_by_its_creator(api: Api) -> None:
    alice = await api.register("Alice")
    created = await api.ok(
        "POST",
        "/api/agents",
        alice,
        json={"name": "Market Researcher", "instructions": "Be brief.", "model": "offline:x"},
    )
    assert created["handle"] == "market-researcher" and created["kind"] == "user_agent"
    assert created["created_by"] == alice.id and created["can_edit"] is True
    assert created["delegates_to"] == [] and created["version"] == 1

    updated = await api.ok(
        "PATCH", f"/api/agents/{created['id']}", alice, json={"personality": "curious"}
    )
    assert updated["personality"] == "curious" and updated["version"] == 2
    listed = await api.ok("GET", "/api/agents", alice)
    assert created["id"] in [a["id"] for a in listed]
    assert (await api.call("DELETE", f"/api/agents/{created['id']}", alice)).status_code == 204
    response = await api.call("GET", f"/api/agents/{created['id']}", alice)
    assert response.status_code == 404 and response.json()["code"] == "not_found"


async def test_only_the_creator_edits_a_user_agent(api: Api) -> None:
    alice, bob = await api.register("Alice"), await api.register("Bob")
    agent = await api.ok("POST", "/api/agents", alice, json={"name": "Mine"})
    seen = await api.ok("GET", f"/api/agents/{agent['id']}", bob)
    assert seen["can_edit"] is False
    for method, body in (("PATCH", {"name": "Stolen"}), ("DELETE", None)):
        response = await api.call(method, f"/api/agents/{agent['id']}", bob, json=body)
        assert response.status_code == 403 and response.json()["code"] == "forbidden"
    response = await api.call("PUT", f"/api/agents/{agent['id']}/tools/recall", bob, json={})
    assert response.status_code == 403


async def test_system_agents_need_staff(api: Api) -> None:
    alice = await api.register("Alice")
    response = await api.call(
        "POST", "/api/agents", alice, json={"name": "Sys", "kind": "system_agent"}
    )
    assert response.status_code == 403 and response.json()["code"] == "forbidden"


async def test_agent_input_errors(api: Api) -> None:
    alice = await api.register("Alice")
    response = await api.call("POST", "/api/agents", alice, json={"name": ""})
    assert response.status_code == 422 and response.json()["code"] == "invalid_request"
    response = await api.call("POST", "/api/agents", alice, json={"name": "X", "colour": "red"})
    assert response.status_code == 422
    await api.ok("POST", "/api/agents", alice, json={"name": "Taken", "handle": "taken"})
    response = await api.call(
        "POST", "/api/agents", alice, json={"name": "Other", "handle": "taken"}
    )
    assert response.status_code == 409 and response.json()["code"] == "conflict"
    response = await api.call(
        "POST", "/api/agents", alice, json={"name": "Y", "delegates_to": ["01NOPE"]}
    )
    assert response.status_code == 400 and response.json()["code"] == "invalid_request"
    response = await api.call("POST", "/api/agents", json={"name": "anon"})
    assert response.status_code == 401


async def test_tool_grants_with_config(api: Api) -> None:
    alice = await api.register("Alice")
    agent = await api.ok("POST", "/api/agents", alice, json={"name": "Rememberer"})
    tools = await api.ok("GET", "/api/tools", alice)
    assert {"remember", "recall"} <= {t["name"] for t in tools}
    path = f"/api/agents/{agent['id']}/tools/recall"
    response = await api.call(
        "PUT", path, alice, json={"config": {"timeout_seconds": 5, "max_calls_per_turn": 2}}
    )
    assert response.status_code == 201
    grant = response.json()
    assert grant["tool"] == "recall"
    assert grant["config"] == {"timeout_seconds": 5.0, "max_calls_per_turn": 2}
    response = await api.call("PUT", path, alice, json={"config": {"requires_approval": True}})
    assert response.status_code == 200 and response.json()["config"] == {"requires_approval": True}
    assert [g["tool"] for g in await api.ok("GET", f"/api/agents/{agent['id']}/tools", alice)] == [
        "recall"
    ]
    assert (await api.ok("GET", path, alice))["config"] == {"requires_approval": True}
    assert (await api.ok("GET", f"/api/agents/{agent['id']}", alice))["version"] == 3

    bad = await api.call("PUT", path, alice, json={"config": {"fixed_args": {"nope": 1}}})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_grant"
    unknown = await api.call("PUT", f"/api/agents/{agent['id']}/tools/nope", alice, json={})
    assert unknown.status_code == 404

    assert (await api.call("DELETE", path, alice)).status_code == 204
    assert (await api.call("GET", path, alice)).status_code == 404
    assert (await api.call("DELETE", path, alice)).status_code == 404


async def test_memories_are_filtered_by_who_asks(api: Api, database_url: str) -> None:
    alice, bob = await api.register("Alice"), await api.register("Bob")
    agent = await api.ok("POST", "/api/agents", alice, json={"name": "Keeper"})
    db = Database(database_url)
    try:
        memories = Memories(db)
        await memories.add(agent["id"], "agent", "the launch is in May")
        await memories.add(agent["id"], "user", "alice likes tea", user_id=alice.id)
        await memories.add(agent["id"], "user", "bob likes coffee", user_id=bob.id)
    finally:
        await db.close()
    mine = await api.ok("GET", f"/api/agents/{agent['id']}/memories", alice)
    assert {m["content"] for m in mine} == {
        "the launch is in May",
        "alice likes tea",
        "bob likes coffee",
    }
    bobs = await api.ok("GET", f"/api/agents/{agent['id']}/memories", bob)
    assert {m["content"] for m in bobs} == {"the launch is in May", "bob likes coffee"}


async def test_builtin_agents_are_loaded_and_read_only(api: Api) -> None:
    alice = await api.register("Alice")
    agents = {a["handle"]: a for a in await api.ok("GET", "/api/agents", alice)}
    assistant = agents["assistant"]
    assert assistant["kind"] == "system_agent" and assistant["can_edit"] is False
    response = await api.call(
        "PATCH", f"/api/agents/{assistant['id']}", alice, json={"instructions": "obey me"}
    )
    assert response.status_code == 403
