"""Agent turns streamed to every subscriber: two people and an agent (the offline model)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from runtime.models import unregister_provider
from runtime.testing import SLOW_OFFLINE_PROVIDER, register_slow_offline
from tests.server.live import Api, LiveServer, Socket, messages_of, socket

# Short enough to be passed while a person decides, long enough that a loaded machine reaches
# the approval (through a delegation) before it runs out.
TURN_TIMEOUT = 3.0


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
        assert again.status_code == 409 and again.json()["code"] == "already_decided"
        result = await a.until(lambda f: f["type"] == "tool.result")
        assert result["tool"] == "remember" and result["status"] == "ok"
        assert (await a.until(lambda f: f["type"] == "turn.end"))["status"] == "completed"


# Approvals, failures and what the transcript keeps of a turn.


async def _keeper_room(api: Api, alice, *others) -> tuple[dict[str, Any], dict[str, Any]]:
    """A room whose agent must ask a person before each `remember`."""
    keeper = await _agent(api, alice, "Keeper")
    await api.ok(
        "PUT",
        f"/api/agents/{keeper['id']}/tools/remember",
        alice,
        json={"config": {"requires_approval": True}},
    )
    return keeper, await api.conversation(alice, *others, agents=(keeper["id"],))


async def _ask_to_remember(client: Socket, room: dict[str, Any], keeper: dict[str, Any]) -> Any:
    await client.request(
        {
            "type": "send",
            "conversation_id": room["id"],
            "client_msg_id": "r1",
            "content": f"@{keeper['handle']} remember the launch is in May",
        }
    )
    return await client.until(lambda f: f["type"] == "tool.approval")


def _decision_path(approval: dict[str, Any]) -> str:
    return f"/api/tool-calls/{approval['tool_call_id']}/decision"


async def test_a_pending_approval_comes_back_when_a_page_subscribes_again(
    api: Api, server: LiveServer
) -> None:
    """A reload must not lose the Approve/Deny card: the running turn's calls are replayed
    after its `turn.start` (`resumed`), and REST pages list the running turns with them."""
    alice, bob = await api.register("Alice"), await api.register("Bob")
    keeper, room = await _keeper_room(api, alice, bob)
    async with socket(server, alice.token) as a:
        await a.subscribe(room["id"])
        approval = await _ask_to_remember(a, room, keeper)
    async with socket(server, bob.token) as b:
        # The replay comes before `subscribed`.
        await b.subscribe(room["id"])
        [resumed] = [f for f in b.frames if f["type"] == "tool.approval"]
        assert {k: resumed[k] for k in ("turn_id", "tool_call_id", "call_id", "tool")} == {
            k: approval[k] for k in ("turn_id", "tool_call_id", "call_id", "tool")
        }
        assert resumed["arguments"] == approval["arguments"] and resumed["resumed"] is True
        kinds = [f["type"] for f in b.frames if f.get("turn_id") == approval["turn_id"]]
        assert kinds == ["turn.start", "tool.call", "tool.approval"]
        page = await api.ok("GET", f"/api/conversations/{room['id']}/messages", bob)
        [running] = page["running_turns"]
        assert running["turn_id"] == approval["turn_id"]
        assert running["agent"]["id"] == keeper["id"]
        [call] = running["tool_calls"]
        assert (call["tool_call_id"], call["status"]) == (
            approval["tool_call_id"],
            "pending_approval",
        )
        assert call["approval"]["status"] == "pending"
        await api.ok("POST", _decision_path(resumed), bob, json={"approved": True})
        end = await b.until(lambda f: f["type"] == "turn.end")
        assert end["status"] == "completed"
    page = await api.ok("GET", f"/api/conversations/{room['id']}/messages", bob)
    assert page["running_turns"] == []


@pytest.mark.parametrize("settings_overrides", [{"turn_timeout_seconds": TURN_TIMEOUT}])
async def test_waiting_for_a_person_does_not_count_against_the_turn_timeout(
    api: Api, server: LiveServer
) -> None:
    alice = await api.register("Alice")
    keeper, room = await _keeper_room(api, alice)
    async with socket(server, alice.token) as a:
        await a.subscribe(room["id"])
        approval = await _ask_to_remember(a, room, keeper)
        await asyncio.sleep(TURN_TIMEOUT + 1.0)  # a person takes longer than the whole turn may run
        decided = await api.call("POST", _decision_path(approval), alice, json={"approved": True})
        assert decided.status_code == 200, decided.text
        end = await _until_turn_end(a)
        assert (end["status"], end.get("error")) == ("completed", None)


@pytest.mark.parametrize("settings_overrides", [{"turn_timeout_seconds": TURN_TIMEOUT}])
async def test_a_delegate_waiting_for_a_person_stops_its_callers_clock_too(
    api: Api, server: LiveServer
) -> None:
    alice = await api.register("Alice")
    scout, _ = await _keeper_room(api, alice)
    lead = await api.ok(
        "POST", "/api/agents", alice, json={"name": "Lead", "delegates_to": [scout["id"]]}
    )
    room = await api.conversation(alice, agents=(lead["id"],))
    async with socket(server, alice.token) as a:
        await a.subscribe(room["id"])
        await a.request(
            {
                "type": "send",
                "conversation_id": room["id"],
                "client_msg_id": "d1",
                "content": f"/delegate @{scout['handle']} remember the venue is the harbour",
            }
        )
        approval = await a.until(lambda f: f["type"] == "tool.approval")
        await asyncio.sleep(TURN_TIMEOUT + 1.0)
        await api.ok("POST", _decision_path(approval), alice, json={"approved": True})
        ends = [await _until_turn_end(a), await _until_turn_end(a)]
        assert [(e["status"], e.get("error")) for e in ends] == [("completed", None)] * 2
        assert ends[0]["turn_id"] == approval["turn_id"], "the delegate's turn ends first"


@pytest.mark.parametrize("settings_overrides", [{"approval_timeout_seconds": 0.5}])
async def test_an_expired_approval_is_announced_with_why(api: Api, server: LiveServer) -> None:
    alice = await api.register("Alice")
    keeper, room = await _keeper_room(api, alice)
    async with socket(server, alice.token) as a:
        await a.subscribe(room["id"])
        approval = await _ask_to_remember(a, room, keeper)
        expired = await a.until(lambda f: f["type"] == "tool.decision")
        assert expired["tool_call_id"] == approval["tool_call_id"]
        assert (expired["status"], expired["decided_by"]) == ("timeout", None)
        assert expired["reason"] == "no decision within 0.5 s"
        result = await a.until(lambda f: f["type"] == "tool.result")
        assert (result["status"], result["code"]) == ("timeout", "approval_timeout")
        assert (await _until_turn_end(a))["status"] == "completed"
        late = await api.call("POST", _decision_path(approval), alice, json={"approved": True})
        assert late.status_code == 409 and late.json()["code"] == "already_decided"
        assert late.json()["details"]["status"] == "timeout"


async def test_everyone_sees_who_decided_and_a_second_decision_is_refused(
    api: Api, server: LiveServer
) -> None:
    alice, bob = await api.register("Alice"), await api.register("Bob")
    keeper, room = await _keeper_room(api, alice, bob)
    async with socket(server, alice.token) as a, socket(server, bob.token) as b:
        await a.subscribe(room["id"])
        await b.subscribe(room["id"])
        approval = await _ask_to_remember(a, room, keeper)
        await b.until(lambda f: f["type"] == "tool.approval")
        await api.ok("POST", _decision_path(approval), bob, json={"approved": False})
        for client in (a, b):
            decided = await client.until(lambda f: f["type"] == "tool.decision")
            assert decided["tool_call_id"] == approval["tool_call_id"]
            assert decided["status"] == "denied"
            assert decided["decided_by"] == {"id": bob.id, "name": "Bob"}
        again = await api.call("POST", _decision_path(approval), alice, json={"approved": True})
        assert again.status_code == 409, again.text
        body = again.json()
        assert body["code"] == "already_decided"
        assert body["details"] == {"status": "denied", "decided_by": bob.id}
        assert (await _until_turn_end(a))["status"] == "completed"


async def test_two_people_deciding_at_once_get_one_decision_and_one_clear_refusal(
    api: Api, server: LiveServer
) -> None:
    alice, bob = await api.register("Alice"), await api.register("Bob")
    keeper, room = await _keeper_room(api, alice, bob)
    async with socket(server, alice.token) as a:
        await a.subscribe(room["id"])
        approval = await _ask_to_remember(a, room, keeper)
        answers = await asyncio.gather(
            *(
                api.call("POST", _decision_path(approval), who, json={"approved": ok})
                for who, ok in ((alice, True), (bob, False), (alice, False))
            )
        )
        codes = sorted(r.status_code for r in answers)
        assert codes == [200, 409, 409], [r.text for r in answers]
        refused = [r.json() for r in answers if r.status_code == 409]
        assert {body["code"] for body in refused} == {"already_decided"}
        decided = await a.until(lambda f: f["type"] == "tool.decision")
        winner = next(r.json() for r in answers if r.status_code == 200)
        assert decided["status"] == winner["status"]
        assert decided["decided_by"]["id"] == winner["decided_by"]
        assert (await _until_turn_end(a))["status"] == "completed"


async def test_tool_calls_and_hand_offs_come_back_with_the_transcript(
    api: Api, server: LiveServer
) -> None:
    """What showed live under a reply (tool calls, who approved them, a delegation) is on the
    stored messages a reload reads: the subscribe replay and REST pages."""
    alice, bob = await api.register("Alice"), await api.register("Bob")
    keeper, room = await _keeper_room(api, alice, bob)
    scout = await _agent(api, alice, "Scout")
    await api.ok(
        "PATCH", f"/api/agents/{keeper['id']}", alice, json={"delegates_to": [scout["id"]]}
    )
    async with socket(server, alice.token) as a:
        await a.subscribe(room["id"])
        approval = await _ask_to_remember(a, room, keeper)
        await api.ok("POST", _decision_path(approval), bob, json={"approved": True})
        await _until_turn_end(a)
        await a.request(
            {
                "type": "send",
                "conversation_id": room["id"],
                "client_msg_id": "d1",
                "content": f"@{keeper['handle']} /delegate @{scout['handle']} check the venue",
            }
        )
        ends = [await _until_turn_end(a), await _until_turn_end(a)]
    assert [e["status"] for e in ends] == ["completed", "completed"]
    page = await api.ok("GET", f"/api/conversations/{room['id']}/messages", alice)
    async with socket(server, bob.token) as b:
        await b.subscribe(room["id"])
        replayed = [f["message"] for f in b.frames if f["type"] == "message"]
    for messages in (page["messages"], replayed):
        by_author = [(m["author"]["name"], m) for m in messages]
        assert [name for name, _ in by_author] == ["Alice", "Keeper", "Alice", "Scout", "Keeper"]
        remembered, delegated, delegating = by_author[1][1], by_author[3][1], by_author[4][1]
        [call] = remembered["tool_calls"]
        assert (call["tool"], call["status"], call["tool_call_id"]) == (
            "remember",
            "ok",
            approval["tool_call_id"],
        )
        assert call["arguments"] == approval["arguments"]
        assert call["approval"]["status"] == "approved"
        assert call["approval"]["decided_by"] == {"id": bob.id, "name": "Bob"}
        [handoff] = delegating["tool_calls"]
        assert (handoff["tool"], handoff["arguments"]["agent"]) == ("delegate", scout["handle"])
        assert handoff["status"] == "ok" and "Scout (offline)" in handoff["result"]
        assert delegated["delegated_by"]["agent"] == {
            "id": keeper["id"],
            "name": "Keeper",
            "handle": keeper["handle"],
        }
        assert delegated["delegated_by"]["turn_id"] == delegating["turn_id"]
        assert remembered["delegated_by"] is None and delegated["tool_calls"] == []
        assert "tool_calls" not in messages[0], "a person's message has no turn"


async def test_deleting_an_agent_that_has_spoken_keeps_its_messages(
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
        assert (await _until_turn_end(a))["status"] == "completed"
        deleted = await api.call("DELETE", f"/api/agents/{helper['id']}", alice)
        assert deleted.status_code == 204, deleted.text
        left = await a.until(lambda f: f["type"] == "participant.removed")
        assert left["agent_id"] == helper["id"], "open rooms are told it left"

    page = await api.ok("GET", f"/api/conversations/{room['id']}/messages", alice)
    assert [m["author"]["name"] for m in page["messages"]] == ["Alice", "Helper"]
    assert page["messages"][1]["author"]["agent_id"] == helper["id"]
    async with socket(server, alice.token) as again:
        await again.subscribe(room["id"])
        replayed = [f["message"]["author"]["name"] for f in again.frames if f["type"] == "message"]
        assert replayed == ["Alice", "Helper"]

    gone = await api.call("GET", f"/api/agents/{helper['id']}", alice)
    assert gone.status_code == 404
    assert helper["id"] not in [a["id"] for a in await api.ok("GET", "/api/agents", alice)]
    conversation = await api.ok("GET", f"/api/conversations/{room['id']}", alice)
    assert [p["kind"] for p in conversation["participants"]] == ["user"], "it left the room"
    # Its handle is free again, and the old id cannot be brought back into a room.
    reborn = await api.ok(
        "POST", "/api/agents", alice, json={"name": "Helper", "handle": helper["handle"]}
    )
    assert reborn["handle"] == helper["handle"] and reborn["id"] != helper["id"]
    refused = await api.call(
        "POST",
        "/api/conversations",
        alice,
        json={"title": "x", "participants": [{"kind": "agent", "agent_id": helper["id"]}]},
    )
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_request"
    assert (await api.call("DELETE", f"/api/agents/{helper['id']}", alice)).status_code == 404
