"""Groups, members and group access to conversations; prompts and attachments."""

from __future__ import annotations

from tests.server.live import Api


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
