"""`GET /api/conversations/{id}/messages`: paging by `has_more`, and bounds on `after_seq`."""

from __future__ import annotations

from store.conversations import Conversations
from store.messages import MAX_PAGE, Messages
from tests.server.live import Api, LiveServer


async def _fill(server: LiveServer, conversation_id: str, user_id: str, count: int) -> None:
    """Store `count` messages straight through the store: hundreds of REST posts would take
    most of the test's time and test nothing more here."""
    db = server.services.db
    author = await Conversations(db).participant_for_user(conversation_id, user_id)
    assert author is not None
    messages = Messages(db)
    for i in range(count):
        await messages.append(conversation_id, f"m{i}", author_participant_id=author.id)


async def test_a_client_paging_by_has_more_reads_every_message(
    api: Api, server: LiveServer
) -> None:
    alice = await api.register("Alice")
    room = await api.conversation(alice)
    await _fill(server, room["id"], alice.id, MAX_PAGE + 120)
    path = f"/api/conversations/{room['id']}/messages"
    first = await api.ok("GET", f"{path}?limit={MAX_PAGE}", alice)
    assert len(first["messages"]) == MAX_PAGE and first["has_more"] is True
    seqs, after_seq, pages = [], 0, 0
    while True:
        page = await api.ok("GET", f"{path}?after_seq={after_seq}&limit={MAX_PAGE}", alice)
        seqs += [m["seq"] for m in page["messages"]]
        pages += 1
        if not page["has_more"]:
            break
        after_seq = page["messages"][-1]["seq"]
    assert seqs == list(range(1, MAX_PAGE + 121)) and pages == 2
    assert page["last_seq"] == MAX_PAGE + 120


async def test_after_seq_beyond_any_seq_is_refused_not_a_server_error(api: Api) -> None:
    alice = await api.register("Alice")
    room = await api.conversation(alice)
    path = f"/api/conversations/{room['id']}/messages"
    await api.ok("POST", path, alice, json={"client_msg_id": "a", "content": "hello"})
    for after_seq in (2**31, 2**31 + 1, 2**63 - 1, 2**63, 2**64, 10**30):
        response = await api.call("GET", f"{path}?after_seq={after_seq}", alice)
        assert response.status_code == 422, (after_seq, response.text)
        assert response.json()["code"] == "invalid_request"
    # Above the last seq but within range: an empty page that says where the conversation is.
    page = await api.ok("GET", f"{path}?after_seq={2**31 - 1}", alice)
    assert page["messages"] == [] and page["last_seq"] == 1 and page["has_more"] is False
