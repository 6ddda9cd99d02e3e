"""Managing a conversation and one's own view of it: roles, archive, delete, read, mute."""

from __future__ import annotations

from tests.server.live import Api, LiveServer, socket


def _row(room: dict, user) -> dict:
    return next(p for p in room["participants"] if p["user_id"] == user.id)


async def _say(api: Api, user, room: dict, text: str) -> dict:
    return await api.ok(
        "POST", f"/api/conversations/{room['id']}/messages", user, json={"content": text}
    )


async def test_rename_and_policy_need_an_admin(api: Api) -> None:
    alice, bob, carol = [await api.register(n) for n in ("Alice", "Bob", "Carol")]
    room = await api.conversation(alice, bob)
    path = f"/api/conversations/{room['id']}"
    response = await api.call("PATCH", path, bob, json={"title": "Bob's now"})
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    response = await api.call("PATCH", path, carol, json={"title": "Carol's now"})
    assert response.status_code == 404
    renamed = await api.ok(
        "PATCH", path, alice, json={"title": "Launch plan", "policy": {"speaker": "round_robin"}}
    )
    assert renamed["title"] == "Launch plan" and renamed["policy"]["speaker"] == "round_robin"
    assert (await api.ok("GET", path, bob))["title"] == "Launch plan"


async def test_roles_change_by_admins_and_the_owner_keeps_theirs(api: Api) -> None:
    alice, bob, carol = [await api.register(n) for n in ("Alice", "Bob", "Carol")]
    room = await api.conversation(alice, bob, carol)
    path = f"/api/conversations/{room['id']}/participants"
    bob_row, carol_row, alice_row = _row(room, bob), _row(room, carol), _row(room, alice)
    response = await api.call("PATCH", f"{path}/{carol_row['id']}", bob, json={"role": "admin"})
    assert response.status_code == 403
    promoted = await api.ok("PATCH", f"{path}/{bob_row['id']}", alice, json={"role": "admin"})
    assert promoted["role"] == "admin" and promoted["user_id"] == bob.id
    # An admin who is not the owner may neither demote nor remove the owner.
    response = await api.call("PATCH", f"{path}/{alice_row['id']}", bob, json={"role": "observer"})
    assert response.status_code == 403
    response = await api.call("DELETE", f"{path}/{alice_row['id']}", bob)
    assert response.status_code == 403
    await api.ok("PATCH", f"{path}/{carol_row['id']}", bob, json={"role": "observer"})
    response = await _send_as(api, carol, room)
    assert response.status_code == 403
    response = await api.call("PATCH", f"{path}/{carol_row['id']}", bob, json={"role": "king"})
    assert response.status_code == 422
    response = await api.call(
        "PATCH", f"{path}/01NOSUCHPARTICIPANT0000000", bob, json={"role": "member"}
    )
    assert response.status_code == 404


async def _frames_until(client, types: set[str]) -> dict[str, dict]:
    """Read until a frame of each type came (user and room channels interleave freely)."""
    seen: dict[str, dict] = {}
    while set(seen) != types:
        frame = await client.recv()
        if frame["type"] in types:
            seen.setdefault(frame["type"], frame)
    return seen


async def _send_as(api: Api, user, room: dict):
    return await api.call(
        "POST", f"/api/conversations/{room['id']}/messages", user, json={"content": "hi"}
    )


async def test_archive_and_delete_are_the_owners(api: Api, server: LiveServer) -> None:
    alice, bob, carol = [await api.register(n) for n in ("Alice", "Bob", "Carol")]
    room = await api.conversation(alice, bob)
    await api.ok(
        "PATCH",
        f"/api/conversations/{room['id']}/participants/{_row(room, bob)['id']}",
        alice,
        json={"role": "admin"},
    )
    path = f"/api/conversations/{room['id']}"
    for user, code in ((bob, 403), (carol, 404)):
        response = await api.call("PUT", f"{path}/archive", user, json={"archived": True})
        assert response.status_code == code
        assert (await api.call("DELETE", path, user)).status_code == code
    archived = await api.ok("PUT", f"{path}/archive", alice, json={"archived": True})
    assert archived["archived_at"] is not None
    listed = await api.ok("GET", "/api/conversations", bob)
    assert listed[0]["archived_at"] is not None
    back = await api.ok("PUT", f"{path}/archive", alice, json={"archived": False})
    assert back["archived_at"] is None
    await _say(api, alice, room, "before the end")
    async with socket(server, bob.token) as b:
        await b.subscribe(room["id"])
        assert (await api.call("DELETE", path, alice)).status_code == 204
        seen = await _frames_until(
            b, {"conversation.deleted", "unsubscribed", "conversation.removed"}
        )
        assert seen["unsubscribed"]["reason"] == "deleted"
        assert seen["conversation.removed"]["reason"] == "deleted"
        assert seen["conversation.deleted"]["conversation_id"] == room["id"]
    assert (await api.call("GET", path, alice)).status_code == 404
    assert await api.ok("GET", "/api/conversations", bob) == []


async def test_unread_counts_follow_each_persons_read_position(
    api: Api, server: LiveServer
) -> None:
    alice, bob, carol = [await api.register(n) for n in ("Alice", "Bob", "Carol")]
    room = await api.conversation(alice, bob)
    for text in ("one", "two", "three"):
        await _say(api, alice, room, text)
    await server.services.activity.settle()
    [item] = await api.ok("GET", "/api/conversations", bob)
    assert item["unread"] == 3 and item["last_read_seq"] == 0
    assert item["last_message"] == {"seq": 3, "author": "Alice", "text": "three"}
    # The author has read their own messages.
    assert (await api.ok("GET", "/api/conversations", alice))[0]["unread"] == 0
    read = f"/api/conversations/{room['id']}/read"
    state = await api.ok("PUT", read, bob, json={"seq": 2})
    assert state == {"conversation_id": room["id"], "last_read_seq": 2, "unread": 1, "muted": False}
    # Never backwards, never past the end.
    assert (await api.ok("PUT", read, bob, json={"seq": 1}))["last_read_seq"] == 2
    assert (await api.ok("PUT", read, bob, json={"seq": 99}))["last_read_seq"] == 3
    assert (await api.ok("GET", read, bob))["unread"] == 0
    # Another person's read state is not theirs to read or move.
    assert (await api.call("GET", read, carol)).status_code == 404
    assert (await api.call("PUT", read, carol, json={"seq": 3})).status_code == 404
    assert (await api.call("PUT", read, bob, json={"seq": -1})).status_code == 422
    assert (await api.call("PUT", read, bob, json={"seq": 2**31})).status_code == 422
    assert (await api.call("PUT", read, bob, json={"seq": "3"})).status_code == 422


async def test_mute_is_ones_own_and_keeps_counting(api: Api, server: LiveServer) -> None:
    alice, bob, carol = [await api.register(n) for n in ("Alice", "Bob", "Carol")]
    room = await api.conversation(alice, bob)
    mute = f"/api/conversations/{room['id']}/mute"
    assert (await api.call("PUT", mute, carol, json={"muted": True})).status_code == 404
    assert (await api.ok("PUT", mute, bob, json={"muted": True}))["muted"] is True
    await _say(api, alice, room, "@Bob are you there?")
    await server.services.activity.settle()
    [item] = await api.ok("GET", "/api/conversations", bob)
    assert item["muted"] is True and item["unread"] == 1
    assert (await api.ok("GET", "/api/notifications", bob))["notifications"] == []
    assert (await api.ok("GET", "/api/conversations", alice))[0]["muted"] is False
