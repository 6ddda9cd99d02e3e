"""Conversations over REST: create, list, read, participants, message pages, sends."""

from __future__ import annotations

from tests.server.live import Api


async def test_create_list_get(api: Api) -> None:
    alice, bob, carol = [await api.register(n) for n in ("Alice", "Bob", "Carol")]
    agent = await api.ok("POST", "/api/agents", alice, json={"name": "Guide"})
    room = await api.conversation(alice, bob, agents=(agent["id"],), policy={"speaker": "mentions"})
    assert room["role"] == "admin" and room["policy"] == {"speaker": "mentions"}
    people = {(p["kind"], p["name"], p["role"]) for p in room["participants"]}
    assert people == {
        ("user", "Alice", "admin"),
        ("user", "Bob", "member"),
        ("agent", "Guide", "member"),
    }
    assert next(p for p in room["participants"] if p["kind"] == "agent")["handle"] == "guide"

    assert [c["id"] for c in await api.ok("GET", "/api/conversations", bob)] == [room["id"]]
    assert await api.ok("GET", "/api/conversations", carol) == []
    seen = await api.ok("GET", f"/api/conversations/{room['id']}", bob)
    assert seen["role"] == "member" and len(seen["participants"]) == 3
    response = await api.call("GET", f"/api/conversations/{room['id']}", carol)
    assert response.status_code == 404 and response.json()["code"] == "not_found"


async def test_bad_conversation_input(api: Api) -> None:
    alice = await api.register("Alice")
    response = await api.call(
        "POST", "/api/conversations", alice, json={"title": "x", "policy": {"speaker": "loudest"}}
    )
    assert response.status_code == 400 and response.json()["code"] == "invalid_policy"
    response = await api.call(
        "POST",
        "/api/conversations",
        alice,
        json={"title": "x", "participants": [{"kind": "user", "user_id": "01NOSUCHUSER"}]},
    )
    assert response.status_code == 400 and response.json()["code"] == "invalid_request"
    response = await api.call(
        "POST", "/api/conversations", alice, json={"title": "x", "participants": [{"kind": "cat"}]}
    )
    assert response.status_code == 422
    response = await api.call(
        "POST", "/api/conversations", alice, json={"title": "x", "group_id": "01NOSUCHGROUP"}
    )
    assert response.status_code == 404


async def test_participants_are_managed_by_admins(api: Api) -> None:
    alice, bob, carol = (
        await api.register("Alice"),
        await api.register("Bob"),
        await api.register("Carol"),
    )
    room = await api.conversation(alice, bob)
    path = f"/api/conversations/{room['id']}/participants"
    response = await api.call("POST", path, bob, json={"kind": "user", "user_id": carol.id})
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    added = await api.ok("POST", path, alice, json={"kind": "user", "user_id": carol.id})
    assert added["name"] == "Carol" and added["role"] == "member"
    alice_row = next(p for p in room["participants"] if p["user_id"] == alice.id)
    response = await api.call("DELETE", f"{path}/{alice_row['id']}", bob)
    assert response.status_code == 403
    # Anyone may leave.
    bob_row = next(p for p in room["participants"] if p["user_id"] == bob.id)
    assert (await api.call("DELETE", f"{path}/{bob_row['id']}", bob)).status_code == 204
    assert (await api.call("GET", path, bob)).status_code == 404
    names = {p["name"] for p in await api.ok("GET", path, alice)}
    assert names == {"Alice", "Carol"}


async def test_message_pages_and_rest_send(api: Api) -> None:
    alice = await api.register("Alice")
    room = await api.conversation(alice)
    path = f"/api/conversations/{room['id']}/messages"
    for i in range(5):
        response = await api.call(
            "POST", path, alice, json={"client_msg_id": f"c{i}", "content": f"m{i}"}
        )
        assert response.status_code == 201
        ack = response.json()
        assert ack["seq"] == i + 1 and ack["client_msg_id"] == f"c{i}"
        assert ack["message"]["content"] == f"m{i}" and ack["created"] is True
    page = await api.ok("GET", f"{path}?after_seq=1&limit=2", alice)
    assert [m["seq"] for m in page["messages"]] == [2, 3]
    assert page["has_more"] is True and page["last_seq"] == 5
    page = await api.ok("GET", f"{path}?after_seq=3", alice)
    assert [m["content"] for m in page["messages"]] == ["m3", "m4"] and page["has_more"] is False
    assert page["messages"][0]["author"]["name"] == "Alice"
    for query in ("?after_seq=-1", "?limit=0", "?limit=501", "?after_seq=abc"):
        response = await api.call("GET", path + query, alice)
        assert response.status_code == 422 and response.json()["code"] == "invalid_request"
    response = await api.call("POST", path, alice, json={"content": "x" * 16_001})
    assert response.status_code == 400 and response.json()["code"] == "invalid_request"


async def test_tool_call_decision_needs_access(api: Api) -> None:
    alice = await api.register("Alice")
    response = await api.call(
        "POST", "/api/tool-calls/01NOSUCHCALL/decision", alice, json={"approved": True}
    )
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    response = await api.call("POST", "/api/tool-calls/x/decision", alice, json={"approved": "y"})
    assert response.status_code == 422


async def test_users_search(api: Api) -> None:
    alice = await api.register("Alice Liddell")
    bob = await api.register("Bob Builder")
    found = await api.ok("GET", "/api/users?query=lidd", alice)
    assert [u["name"] for u in found] == ["Alice Liddell"]
    assert found[0]["email"] is None, "a name search must not reveal addresses"
    by_email = await api.ok("GET", f"/api/users?query={bob.email.upper()}", alice)
    assert [(u["id"], u["email"]) for u in by_email] == [(bob.id, bob.email)]
    assert await api.ok("GET", "/api/users?query=example.com", alice) == []
    assert await api.ok("GET", "/api/users?query=b", alice) == []
