"""Agent turns streamed to every subscriber: two people and an agent (the offline model)."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.models import unregister_provider
from runtime.testing import SLOW_OFFLINE_PROVIDER, register_slow_offline
from tests.server.live import Api, LiveServer, Socket, messages_of, socket


@pytest.fixture
def slow_model() -> Any:
    """`slowoffline:<ms>` agents stream slowly enough for a test to act mid-turn."""
    register_slow_offline()
    yield f"{SLOW_OFFLINE_PROVIDER}:40"
    unregister_provider(SLOW_OFFLINE_PROVIDER)


def turn_frames(frames: list[dict[str, Any]], turn_id: str) -> list[dict[str, Any]]:
    return [
        f
        for f in frames
        if f.get("turn_id") == turn_id
        or (f["type"] == "message" and f["message"]["turn_id"] == turn_id)
    ]


async def _agent(
    api: Api, owner, name: str = "Helper", model: str = "offline:default"
) -> dict[str, Any]:
    return await api.ok(
        "POST",
        "/api/agents",
        owner,
        json={"name": name, "description": "answers questions", "model": model},
    )


async def _until_turn_end(client: Socket) -> dict[str, Any]:
    return await client.until(lambda f: f["type"] == "turn.end")


async def test_two_people_see_the_same_streamed_turn(api: Api, server: LiveServer) -> None:
    alice, bob = await api.register("Alice"), await api.register("Bob")
    helper = await _agent(api, alice)
    room = await api.conversation(alice, bob, agents=(helper["id"],))
    async with socket(server, alice.token) as a, socket(server, bob.token) as b:
        await a.subscribe(room["id"])
        await b.subscribe(room["id"])
        ack = await a.request(
            {
                "type": "send",
                "conversation_id": room["id"],
                "client_msg_id": "q1",
                "content": f"@{helper['handle']} what is the plan for the launch?",
            }
        )
        assert ack["type"] == "ack" and ack["seq"] == 1
        ends = [await _until_turn_end(a), await _until_turn_end(b)]
        assert ends[0] == ends[1] and ends[0]["status"] == "completed"
        turn_id = ends[0]["turn_id"]
        for client in (a, b):
            frames = turn_frames(client.frames, turn_id)
            kinds = [f["type"] for f in frames]
            # Durable before announced: the stored message comes before turn.end.
            assert kinds[0] == "turn.start" and kinds[-2:] == ["message", "turn.end"]
            assert set(kinds[1:-2]) == {"delta"}
            assert frames[0]["agent"] == {
                "id": helper["id"],
                "name": "Helper",
                "handle": helper["handle"],
            }
            stored = next(f for f in frames if f["type"] == "message")
            deltas = "".join(f["text"] for f in frames if f["type"] == "delta")
            assert deltas == stored["message"]["content"] and deltas
            assert stored["message"]["author"]["agent_id"] == helper["id"]
            assert stored["seq"] == ends[0]["message_seq"] == 2
        assert messages_of(a.frames, room["id"]) == messages_of(b.frames, room["id"]) == [1, 2]
        # Both saw the turn's frames in the same order.
        assert [f["type"] for f in turn_frames(a.frames, turn_id)] == [
            f["type"] for f in turn_frames(b.frames, turn_id)
        ]


async def test_a_late_subscriber_gets_the_agent_reply_from_the_store(
    api: Api, server: LiveServer
) -> None:
    alice = await api.register("Alice")
    helper = await _agent(api, alice)
    room = await api.conversation(alice, agents=(helper["id"],))
    async with socket(server, alice.token) as a:
        await a.subscribe(room["id"])
        await a.request(
            {"type": "send", "conversation_id": room["id"], "client_msg_id": "1", "content": "hi"}
        )
        end = await _until_turn_end(a)
    async with socket(server, alice.token) as again:
        subscribed = await again.subscribe(room["id"], after_seq=1)
        assert subscribed["last_seq"] == end["message_seq"] == 2
        [reply] = [f for f in again.frames if f["type"] == "message"]
        assert reply["message"]["turn_id"] == end["turn_id"]


async def test_cancel_frame_answers_with_ref(api: Api, server: LiveServer) -> None:
    alice = await api.register("Alice")
    room = await api.conversation(alice)
    async with socket(server, alice.token) as a:
        answer = await a.request({"type": "cancel", "conversation_id": room["id"]})
        assert answer["type"] == "cancelled" and answer["cancelled"] is False
    response = await api.call("POST", f"/api/conversations/{room['id']}/cancel", alice, json={})
    assert response.status_code == 200 and response.json()["cancelled"] is False


async def test_reject_policy_reports_turn_in_progress(
    api: Api, server: LiveServer, slow_model: str
) -> None:
    """Under `reject`, a message sent while the agent replies is refused with
    `turn_in_progress` and stored nowhere; one sent after the turn is accepted."""
    alice = await api.register("Alice")
    helper = await _agent(api, alice, model=slow_model)
    room = await api.conversation(alice, agents=(helper["id"],), policy={"mid_turn": "reject"})
    async with socket(server, alice.token) as a:
        await a.subscribe(room["id"])
        await a.request(
            {"type": "send", "conversation_id": room["id"], "client_msg_id": "1", "content": "hi"}
        )
        await a.until(lambda f: f["type"] == "delta")
        answer = await a.request(
            {"type": "send", "conversation_id": room["id"], "client_msg_id": "2", "content": "x"}
        )
        assert (answer["type"], answer["code"]) == ("error", "turn_in_progress")
        end = await a.until(lambda f: f["type"] == "turn.end")
        assert end["message_seq"] == 2, "the refused message took no seq"
        after = await a.request(
            {"type": "send", "conversation_id": room["id"], "client_msg_id": "3", "content": "y"}
        )
        assert (after["type"], after["seq"]) == ("ack", 3)


async def test_a_subscriber_joining_mid_turn_is_told_the_turn_is_running(
    api: Api, server: LiveServer, slow_model: str
) -> None:
    alice, bob = await api.register("Alice"), await api.register("Bob")
    helper = await _agent(api, alice, model=slow_model)
    room = await api.conversation(alice, bob, agents=(helper["id"],))
    async with socket(server, alice.token) as a:
        await a.subscribe(room["id"])
        await a.request(
            {"type": "send", "conversation_id": room["id"], "client_msg_id": "1", "content": "hi"}
        )
        start = await a.until(lambda f: f["type"] == "turn.start")
        await a.until(lambda f: f["type"] == "delta")
        async with socket(server, bob.token) as b:
            await b.subscribe(room["id"])
            end = await b.until(lambda f: f["type"] == "turn.end")
            mine = turn_frames(b.frames, start["turn_id"])
            starts = [f for f in mine if f["type"] == "turn.start"]
            assert len(starts) == 1 and starts[0]["resumed"] is True
            assert starts[0]["agent"] == start["agent"]
            assert [f["type"] for f in mine][-2:] == ["message", "turn.end"]
            assert end["status"] == "completed"
            assert messages_of(b.frames, room["id"]) == [1, 2]


async def test_tool_approval_is_decided_over_rest(api: Api, server: LiveServer) -> None:
    alice, bob = await api.register("Alice"), await api.register("Bob")
    keeper = await _agent(api, alice, "Keeper")
    await api.ok(
        "PUT",
        f"/api/agents/{keeper['id']}/tools/remember",
        alice,
        json={"config": {"requires_approval": True}},
    )
    room = await api.conversation(alice, bob, agents=(keeper["id"],))
    async with socket(server, alice.token) as a:
        await a.subscribe(room["id"])
        await a.request(
            {
                "type": "send",
                "conversation_id": room["id"],
                "client_msg_id": "r1",
                "content": f"@{keeper['handle']} remember the launch is in May",
            }
        )
        approval = await a.until(lambda f: f["type"] == "tool.approval")
        assert approval["tool"] == "remember"
        path = f"/api/tool-calls/{approval['tool_call_id']}/decision"
        outsider = await api.register("Eve")
        assert (await api.call("POST", path, outsider, json={"approved": True})).status_code == 404
        decided = await api.ok("POST", path, bob, json={"approved": True})
        assert decided["status"] == "approved" and decided["decided_by"] == bob.id
        again = await api.call("POST", path, bob, json={"approved": False})
        assert again.status_code == 409 and again.json()["code"] == "conflict"
        result = await a.until(lambda f: f["type"] == "tool.result")
        assert result["tool"] == "remember" and result["status"] == "ok"
        assert (await a.until(lambda f: f["type"] == "turn.end"))["status"] == "completed"
