"""`GET /api/search`: full-text search over the messages one may read, on either backend."""

from __future__ import annotations

from typing import Any

from store.conversations import Conversations
from tests.server.live import Api, LiveServer, User


async def _send(api: Api, user: User, room: dict[str, Any], content: str) -> dict[str, Any]:
    path = f"/api/conversations/{room['id']}/messages"
    return await api.ok("POST", path, user, json={"content": content})


async def _search(api: Api, user: User, q: str, **params: Any) -> list[dict[str, Any]]:
    body = await api.ok("GET", "/api/search", user, params={"q": q, **params})
    return body["results"]


def _found(results: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(r["conversation_id"], r["seq"]) for r in results]


async def test_finds_words_with_a_highlighted_snippet_newest_first(api: Api) -> None:
    alice, bob = await api.register("Alice"), await api.register("Bob")
    room = await api.conversation(alice, bob, title="Launch plans")
    await _send(api, alice, room, "The pricing page goes live on Monday")
    await _send(api, bob, room, "Nothing to see here")
    await _send(api, bob, room, "Pricing for the enterprise tier is pending")
    results = await _search(api, alice, "pricing")
    assert _found(results) == [(room["id"], 3), (room["id"], 1)]
    first = results[0]
    assert first["conversation_title"] == "Launch plans"
    assert first["author"]["name"] == "Bob" and first["author"]["kind"] == "user"
    assert "<mark>Pricing</mark>" in first["snippet"]
    # Every word must match, each as a prefix, whatever the case.
    assert _found(await _search(api, bob, "PRIC mond")) == [(room["id"], 1)]
    assert await _search(api, bob, "pricing tuesday") == []
    # Only one conversation, when asked.
    other = await api.conversation(alice, title="Other")
    await _send(api, alice, other, "pricing elsewhere")
    assert len(await _search(api, alice, "pricing")) == 3
    assert _found(await _search(api, alice, "pricing", conversation_id=other["id"])) == [
        (other["id"], 1)
    ]


async def test_never_returns_a_message_the_searcher_cannot_read(
    api: Api, server: LiveServer
) -> None:
    alice, bob, mallory = [await api.register(n) for n in ("Alice", "Bob", "Mallory")]
    private = await api.conversation(alice, title="Alice alone")
    shared = await api.conversation(alice, bob, title="Alice and Bob")
    await _send(api, alice, private, "zebra password for the vault")
    await _send(api, alice, shared, "zebra crossing at noon")
    assert _found(await _search(api, alice, "zebra")) == [(shared["id"], 1), (private["id"], 1)]
    assert _found(await _search(api, bob, "zebra")) == [(shared["id"], 1)]
    assert await _search(api, mallory, "zebra") == []
    # Naming a conversation one cannot read finds nothing there either.
    assert await _search(api, mallory, "zebra", conversation_id=private["id"]) == []
    assert await _search(api, bob, "vault", conversation_id=private["id"]) == []
    # Someone who leaves stops finding what is there.
    bob_row = await Conversations(server.services.db).participant_for_user(shared["id"], bob.id)
    assert bob_row is not None
    path = f"/api/conversations/{shared['id']}/participants/{bob_row.id}"
    await api.ok("DELETE", path, bob)
    assert await _search(api, bob, "zebra") == []


async def test_group_members_find_the_group_conversations(api: Api) -> None:
    alice, gina, stranger = [await api.register(n) for n in ("Alice", "Gina", "Stranger")]
    group = await api.ok("POST", "/api/groups", alice, json={"name": "Team"})
    await api.ok(
        "POST",
        f"/api/groups/{group['id']}/members",
        alice,
        json={"kind": "user", "user_id": gina.id, "role": "observer"},
    )
    room = await api.conversation(alice, group_id=group["id"])
    await _send(api, alice, room, "quarterly roadmap review")
    assert _found(await _search(api, gina, "roadmap")) == [(room["id"], 1)]
    assert await _search(api, stranger, "roadmap") == []


async def test_edits_and_deletes_keep_the_index_in_step(api: Api) -> None:
    alice = await api.register("Alice")
    room = await api.conversation(alice)
    await _send(api, alice, room, "the flamingo budget")
    await _send(api, alice, room, "the walrus timeline")
    path = f"/api/conversations/{room['id']}/messages"
    await api.ok("PATCH", f"{path}/1", alice, json={"content": "the pelican budget"})
    assert await _search(api, alice, "flamingo") == []
    assert _found(await _search(api, alice, "pelican")) == [(room["id"], 1)]
    assert _found(await _search(api, alice, "budget")) == [(room["id"], 1)]
    await api.ok("DELETE", f"{path}/2", alice)
    assert await _search(api, alice, "walrus") == []
    assert await _search(api, alice, "timeline") == []


async def test_query_text_is_words_never_syntax(api: Api) -> None:
    alice = await api.register("Alice")
    room = await api.conversation(alice)
    await _send(api, alice, room, "alpha beta gamma")
    await _send(api, alice, room, "delta epsilon")
    hostile = [
        '"',
        '"alpha',
        "alpha OR delta",
        "alpha NOT beta",
        "NEAR(alpha delta)",
        "content:alpha",
        "alpha*",
        "alpha & !beta | delta",
        "alpha:* | delta:*",
        "'); DROP TABLE conversation_messages; --",
        "^alpha",
        "alpha -beta",
        "(alpha",
    ]
    for q in hostile:
        response = await api.call("GET", "/api/search", alice, params={"q": q})
        assert response.status_code in (200, 400), (q, response.text)
        if response.status_code == 200:
            found = {r["seq"] for r in response.json()["results"]}
            # Each word is required: "alpha OR delta" means both words, found in neither.
            assert found <= {1}, (q, found)
    assert _found(await _search(api, alice, "alpha NOT beta")) == []  # "not" is a word too
    assert _found(await _search(api, alice, "alpha* (beta")) == [(room["id"], 1)]
    assert len(await _search(api, alice, "gamma")) == 1  # the table is still there


async def test_snippets_are_escaped_except_the_marks(api: Api) -> None:
    alice = await api.register("Alice")
    room = await api.conversation(alice)
    await _send(api, alice, room, '<img src=x onerror="alert(1)"> launch <b>now</b> & "then"')
    (hit,) = await _search(api, alice, "launch")
    assert "<img" not in hit["snippet"] and "<b>" not in hit["snippet"]
    assert "&lt;b&gt;now&lt;/b&gt;" in hit["snippet"] and "&amp;" in hit["snippet"]
    assert "<mark>launch</mark>" in hit["snippet"]
    assert hit["snippet"].replace("<mark>", "").replace("</mark>", "").count("<") == 0


async def test_bad_queries_get_a_clear_error(api: Api) -> None:
    alice = await api.register("Alice")
    for params, status in (
        ({"q": ""}, 422),
        ({}, 422),
        ({"q": "x" * 201}, 422),
        ({"q": "!!! ??? ***"}, 400),
        ({"q": "ok", "limit": 0}, 422),
        ({"q": "ok", "limit": 51}, 422),
        ({"q": "a\u0000b"}, 422),
    ):
        response = await api.call("GET", "/api/search", alice, params=params)
        assert response.status_code == status, (params, response.text)
        assert response.json()["code"] == "invalid_request"
    response = await api.call("GET", "/api/search", None, params={"q": "ok"})
    assert response.status_code == 401
