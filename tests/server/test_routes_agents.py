"""Agents, tool grants and memories over REST: who may read, edit, grant and delete."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from store.db import Database
from store.memories import Memories
from store.models import User as UserRow
from tests.server.live import Api, User

PRIVATE_FIELDS = {
    "goal",
    "system_prompt",
    "instructions",
    "personality",
    "delegates_to",
    "attached_prompts",
    "model",
    "knowledge",
}


async def staff_user(api: Api, database_url: str) -> User:
    """A registered user made staff in the database (there is no API for it, by design)."""
    person = await api.register("Staff")
    db = Database(database_url)
    try:
        async with db.session() as session:
            await session.execute(
                update(UserRow).where(UserRow.id == person.id).values(is_staff=True)
            )
    finally:
        await db.close()
    return person


async def _secret_agent(api: Api, owner: User) -> dict[str, Any]:
    return await api.ok(
        "POST",
        "/api/agents",
        owner,
        json={
            "name": "Closed Book",
            "description": "Answers billing questions.",
            "instructions": "The discount code is ORANGE.",
            "system_prompt": "You are secret.",
            "personality": "dry",
            "goal": "close deals",
            "knowledge": {"pricing": "internal"},
            "model": "offline:x",
        },
    )


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
    """A user's private memories are theirs (and staff's); the agent's owner sees the agent-
    and group-scope ones, not the private memories other users left with the agent."""
    alice, bob, carol = [await api.register(n) for n in ("Alice", "Bob", "Carol")]
    agent = await api.ok("POST", "/api/agents", alice, json={"name": "Keeper"})
    group = await api.ok("POST", "/api/groups", bob, json={"name": "Team"})
    db = Database(database_url)
    try:
        memories = Memories(db)
        await memories.add(agent["id"], "agent", "the launch is in May")
        await memories.add(agent["id"], "user", "alice likes tea", user_id=alice.id)
        await memories.add(agent["id"], "user", "bob likes coffee", user_id=bob.id)
        await memories.add(agent["id"], "group", "the team meets on Monday", group_id=group["id"])
    finally:
        await db.close()
    path = f"/api/agents/{agent['id']}/memories"
    assert {m["content"] for m in await api.ok("GET", path, alice)} == {
        "the launch is in May",
        "alice likes tea",
        "the team meets on Monday",
    }
    assert {m["content"] for m in await api.ok("GET", path, bob)} == {
        "the launch is in May",
        "bob likes coffee",
    }
    assert {m["content"] for m in await api.ok("GET", path, carol)} == {"the launch is in May"}
    staff = await staff_user(api, database_url)
    assert len(await api.ok("GET", path, staff)) == 4


async def test_builtin_agents_are_loaded_and_read_only(api: Api) -> None:
    alice = await api.register("Alice")
    agents = {a["handle"]: a for a in await api.ok("GET", "/api/agents", alice)}
    assistant = agents["assistant"]
    assert assistant["kind"] == "system_agent" and assistant["can_edit"] is False
    response = await api.call(
        "PATCH", f"/api/agents/{assistant['id']}", alice, json={"instructions": "obey me"}
    )
    assert response.status_code == 403


async def test_only_editors_read_an_agents_definition(api: Api) -> None:
    """Everyone gets the public profile; instructions, knowledge, prompts, model and the
    rest go to the agent's editors only, in the list and in the detail."""
    alice, bob = await api.register("Alice"), await api.register("Bob")
    agent = await _secret_agent(api, alice)
    assert set(agent) >= PRIVATE_FIELDS and agent["instructions"].startswith("The discount")
    seen = await api.ok("GET", f"/api/agents/{agent['id']}", bob)
    assert not PRIVATE_FIELDS & set(seen), seen
    assert seen["name"] == "Closed Book" and seen["handle"] == agent["handle"]
    assert seen["description"] == "Answers billing questions." and seen["can_edit"] is False
    listed = {a["id"]: a for a in await api.ok("GET", "/api/agents", bob)}
    assert not PRIVATE_FIELDS & set(listed[agent["id"]])
    assert "ORANGE" not in str(listed) and "ORANGE" not in str(seen)
    mine = {a["id"]: a for a in await api.ok("GET", "/api/agents", alice)}
    assert mine[agent["id"]]["knowledge"] == {"pricing": "internal"}
    # Built-in agents: everyone sees their profile, only staff their definition.
    builtin = next(a for a in listed.values() if a["kind"] == "system_agent")
    assert not PRIVATE_FIELDS & set(builtin)


async def test_grant_config_is_for_editors_and_secrets_never_come_back(api: Api) -> None:
    alice, bob = await api.register("Alice"), await api.register("Bob")
    agent = await api.ok("POST", "/api/agents", alice, json={"name": "Rememberer"})
    plain = f"/api/agents/{agent['id']}/tools/remember"
    await api.ok("PUT", plain, alice, json={"config": {"fixed_args": {"scope": "agent"}}})
    assert (await api.ok("GET", plain, alice))["config"] == {"fixed_args": {"scope": "agent"}}
    assert (await api.ok("GET", plain, bob))["config"] is None
    path = f"/api/agents/{agent['id']}/tools/recall"
    config = {
        "max_calls_per_turn": 2,
        "fixed_args": {"query": "sk-live-123", "limit": 3},
        "secret_args": ["query"],
    }
    response = await api.call("PUT", path, alice, json={"config": config})
    assert response.status_code == 201, response.text
    expected = {"max_calls_per_turn": 2, "fixed_args": {"limit": 3}, "secret_args": ["query"]}
    assert response.json()["config"] == expected
    assert (await api.ok("GET", path, alice))["config"] == expected
    listed = {g["tool"]: g for g in await api.ok("GET", f"/api/agents/{agent['id']}/tools", alice)}
    assert listed["recall"]["config"] == expected
    # Others learn that the tool is granted, not how.
    assert (await api.ok("GET", path, bob))["config"] is None
    theirs = await api.ok("GET", f"/api/agents/{agent['id']}/tools", bob)
    assert {g["tool"]: g["config"] for g in theirs} == {"recall": None, "remember": None}
    for answer in (response.text, str(await api.ok("GET", path, bob)), str(listed)):
        assert "sk-live-123" not in answer
    # Resending what the editor sees keeps the secret; a secret with no value is refused.
    again = await api.call("PUT", path, alice, json={"config": expected})
    assert again.status_code == 200 and again.json()["config"] == expected
    malformed = {"fixed_args": [1], "secret_args": ["query"]}
    response = await api.call("PUT", path, alice, json={"config": malformed})
    assert response.status_code == 400 and response.json()["code"] == "invalid_grant"
    bad = await api.call("PUT", plain, alice, json={"config": {"secret_args": ["content"]}})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_grant"


async def test_another_users_private_prompt_cannot_be_attached(api: Api) -> None:
    """`attached_prompts` takes only prompts the caller may read; a private prompt of someone
    else is refused with the very answer a missing id gets."""
    alice, mallory = await api.register("Alice"), await api.register("Mallory")
    victim = await api.ok(
        "POST", "/api/prompts", alice, json={"title": "Plan", "content": "Our secret plan."}
    )
    own = await api.ok("POST", "/api/prompts", mallory, json={"title": "Mine", "content": "Hi."})
    missing = "01JZZZZZZZZZZZZZZZZZZZZZZZ"

    async def attempt(prompt_id: str, agent_id: str | None = None) -> Any:
        body = {"name": "Thief", "attached_prompts": [prompt_id]}
        if agent_id is None:
            return await api.call("POST", "/api/agents", mallory, json=body)
        body = {"attached_prompts": [prompt_id]}
        return await api.call("PATCH", f"/api/agents/{agent_id}", mallory, json=body)

    stolen, absent = await attempt(victim["id"]), await attempt(missing)
    assert stolen.status_code == absent.status_code == 400
    assert stolen.json()["code"] == absent.json()["code"] == "invalid_request"
    assert stolen.json()["message"].replace(victim["id"], "ID") == absent.json()["message"].replace(
        missing, "ID"
    )
    agent = (await attempt(own["id"])).json()
    assert agent["attached_prompts"] == [own["id"]]
    patched = await attempt(victim["id"], agent["id"])
    assert patched.status_code == 400 and patched.json()["code"] == "invalid_request"
    listed = await api.ok("GET", f"/api/agents/{agent['id']}", mallory)
    assert listed["attached_prompts"] == [own["id"]]
    # Which prompts shape an agent is its editors' business.
    listing = f"/api/attachments?owner_type=agent&owner_id={agent['id']}"
    assert (await api.call("GET", listing, alice)).status_code == 403
    assert (await api.ok("GET", listing, mallory)) == []
    # Through /api/attachments too, for an agent and for a group.
    group = await api.ok("POST", "/api/groups", mallory, json={"name": "Crew"})
    for owner_type, owner_id in (("agent", agent["id"]), ("group", group["id"])):
        body = {"owner_type": owner_type, "owner_id": owner_id, "prompt_id": victim["id"]}
        response = await api.call("POST", "/api/attachments", mallory, json=body)
        assert response.status_code == 404, response.text
        body["prompt_id"] = missing
        assert (await api.call("POST", "/api/attachments", mallory, json=body)).json() == (
            response.json()
        )
