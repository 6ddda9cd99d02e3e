"""The executor runs only granted tools, within their limits, and records every call."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel

from runtime.turn_clock import TurnClock
from store.db import Database
from store.errors import Conflict
from store.tools import Tools
from tests.tools.conftest import World
from tools.approvals import ApprovalGate
from tools.context import Injected, ToolContext
from tools.errors import ToolError
from tools.executor import ToolExecutor
from tools.grants import GrantConfig
from tools.registry import ToolRegistry


class Stamp(BaseModel):
    at: datetime
    tags: set[str]


def make_registry(ran: list[dict[str, Any]], started: asyncio.Event) -> ToolRegistry:
    tools = ToolRegistry()

    @tools.tool
    async def send_email(to: str, subject: str, body: str = "") -> str:
        """Send an email."""
        ran.append({"to": to, "subject": subject})
        return f"sent to {to}"

    @tools.tool
    async def hang(release: bool = False) -> str:
        """Wait for something that never happens."""
        started.set()
        await asyncio.Event().wait()
        return "unreachable"

    @tools.tool
    def explode(kind: str) -> str:
        """Fail on purpose."""
        if kind == "clean":
            raise ToolError("the mailbox is full", code="mailbox_full")
        raise RuntimeError("disk on fire")

    @tools.tool
    def whoami(
        user_id: Annotated[str, Injected("user_id")],
        settings: Annotated[dict[str, Any], Injected("settings")],
        context: ToolContext,
    ) -> dict[str, Any]:
        """Say who called."""
        return {
            "user_id": user_id,
            "settings": settings,
            "tool_call_id": context.tool_call_id,
            "has_db": context.db is not None,
        }

    @tools.tool
    def stamp(size: int) -> Any:
        """Return odd values."""
        if size:
            return "x" * size
        return Stamp(at=datetime(2024, 1, 2, tzinfo=UTC), tags={"a"})

    return tools


@pytest.fixture
def ran() -> list[dict[str, Any]]:
    return []


def executor(
    db: Database,
    world: World,
    ran: list[dict[str, Any]],
    grants: dict[str, GrantConfig],
    started: asyncio.Event | None = None,
    **kwargs: Any,
) -> ToolExecutor:
    tools = make_registry(ran, started or asyncio.Event())
    return ToolExecutor(tools, db, grants=grants, context=world.context(), **kwargs)


async def test_fixed_arguments_win_and_are_hidden(
    db: Database, world: World, ran: list[dict[str, Any]]
) -> None:
    grant = GrantConfig(fixed_args={"to": "boss@example.com"})
    run = executor(db, world, ran, {"send_email": grant})

    [schema] = run.tool_schemas()
    assert schema["function"]["name"] == "send_email"
    assert "to" not in schema["function"]["parameters"]["properties"]
    assert schema["function"]["parameters"]["required"] == ["subject"]

    outcome = await run.call("send_email", {"to": "evil@example.com", "subject": "hi"}, "c1")
    assert outcome.ok and outcome.result == "sent to boss@example.com"
    assert ran == [{"to": "boss@example.com", "subject": "hi"}]
    row = await Tools(db).get_call(outcome.tool_call_id or "")
    assert row.status == "ok"
    assert row.arguments == {"to": "boss@example.com", "subject": "hi", "body": ""}
    assert (row.call_id, row.turn_id, row.agent_id) == ("c1", world.turn_id, world.agent_id)
    assert row.duration_ms is not None and row.duration_ms >= 0


async def test_ungranted_and_unknown_tools_are_refused(
    db: Database, world: World, ran: list[dict[str, Any]]
) -> None:
    run = executor(db, world, ran, {"whoami": GrantConfig()})
    assert [s["function"]["name"] for s in run.tool_schemas()] == ["whoami"]

    refused = await run.call("send_email", {"to": "a", "subject": "b"}, "c1")
    assert (refused.status, refused.code) == ("refused", "tool_not_granted")
    assert "'send_email' is not granted" in (refused.error or "")
    unknown = await run.call("format_disk", {}, "c2")
    assert (unknown.status, unknown.code) == ("refused", "unknown_tool")
    assert ran == []
    rows = await Tools(db).calls_for_turn(world.turn_id)
    assert [(r.tool_name, r.status) for r in rows] == [
        ("send_email", "refused"),
        ("format_disk", "refused"),
    ]
    assert rows[0].error.startswith("tool_not_granted: ")


async def test_bad_arguments_name_the_field(
    db: Database, world: World, ran: list[dict[str, Any]]
) -> None:
    run = executor(db, world, ran, {"send_email": GrantConfig()})
    outcome = await run.call("send_email", {"to": "a", "subjcet": "typo"}, "c1")
    assert (outcome.status, outcome.code) == ("error", "invalid_arguments")
    assert "field 'subject': Field required" in (outcome.error or "")
    assert "field 'subjcet': Extra inputs are not permitted" in (outcome.error or "")
    not_object = await run.call("send_email", ["a"], "c2")
    assert not_object.code == "invalid_arguments"
    assert "must be a JSON object, not list" in (not_object.error or "")
    assert '"code": "invalid_arguments"' in not_object.content()


async def test_exceptions_and_timeouts_become_outcomes(
    db: Database, world: World, ran: list[dict[str, Any]]
) -> None:
    grants = {
        "explode": GrantConfig(),
        "hang": GrantConfig(timeout_seconds=0.05),
        "send_email": GrantConfig(),
    }
    run = executor(db, world, ran, grants)

    crashed = await run.call("explode", {"kind": "dirty"}, "c1")
    assert (crashed.status, crashed.code) == ("error", "tool_error")
    assert crashed.error == "RuntimeError: disk on fire"
    clean = await run.call("explode", {"kind": "clean"}, "c2")
    assert (clean.code, clean.error) == ("mailbox_full", "the mailbox is full")

    timed_out = await run.call("hang", {}, "c3")
    assert (timed_out.status, timed_out.code) == ("timeout", "timeout")
    assert "within 0.05 s" in (timed_out.error or "")

    after = await run.call("send_email", {"to": "a", "subject": "still alive"}, "c4")
    assert after.ok
    statuses = [r.status for r in await Tools(db).calls_for_turn(world.turn_id)]
    assert statuses == ["error", "error", "timeout", "ok"]


async def test_call_limit_per_turn(db: Database, world: World, ran: list[dict[str, Any]]) -> None:
    run = executor(db, world, ran, {"send_email": GrantConfig(max_calls_per_turn=2)})
    outcomes = [await run.call("send_email", {"to": "a", "subject": str(i)}) for i in range(3)]
    assert [o.status for o in outcomes] == ["ok", "ok", "refused"]
    assert outcomes[2].code == "tool_call_limit"
    assert len(ran) == 2


async def test_injected_context_and_grant_settings_reach_the_tool(
    db: Database, world: World, ran: list[dict[str, Any]]
) -> None:
    run = executor(db, world, ran, {"whoami": GrantConfig(settings={"tone": "dry"})})
    assert run.tool_schemas()[0]["function"]["parameters"]["properties"] == {}
    forged = await run.call("whoami", {"user_id": "someone-else"})
    assert forged.code == "invalid_arguments"
    outcome = await run.call("whoami", {})
    assert outcome.result == {
        "user_id": world.user_id,
        "settings": {"tone": "dry"},
        "tool_call_id": outcome.tool_call_id,
        "has_db": True,
    }


async def test_results_are_json_safe_and_truncated(
    db: Database, world: World, ran: list[dict[str, Any]]
) -> None:
    run = executor(db, world, ran, {"stamp": GrantConfig()}, max_result_chars=50)
    odd = await run.call("stamp", {"size": 0})
    assert odd.result == {"at": "2024-01-02T00:00:00Z", "tags": ["a"]}
    long = await run.call("stamp", {"size": 120})
    assert long.result == "x" * 50 + "… [truncated 70 characters]"
    row = await Tools(db).get_call(long.tool_call_id or "")
    assert row.result == long.result


class Approvals:
    """Collects `tool.approval` frames and lets a test wait for the next one."""

    def __init__(self) -> None:
        self.frames: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def emit(self, frame: dict[str, Any]) -> None:
        await self.frames.put(frame)


async def test_approved_call_runs_once_after_approval(
    db: Database, world: World, ran: list[dict[str, Any]]
) -> None:
    gate, seen = ApprovalGate(db), Approvals()
    run = executor(
        db,
        world,
        ran,
        {"send_email": GrantConfig(requires_approval=True)},
        approvals=gate,
        emit=seen.emit,
    )
    pending = asyncio.create_task(run.call("send_email", {"to": "a", "subject": "b"}, "c1"))
    frame = await seen.frames.get()
    assert frame["type"] == "tool.approval"
    assert frame["conversation_id"] == world.conversation_id
    assert (frame["turn_id"], frame["call_id"], frame["tool"]) == (
        world.turn_id,
        "c1",
        "send_email",
    )
    assert frame["arguments"] == {"to": "a", "subject": "b", "body": ""}
    row = await Tools(db).get_call(frame["tool_call_id"])
    assert row.status == "pending_approval" and ran == []

    await gate.decide(frame["tool_call_id"], True, world.user_id)
    outcome = await pending
    assert outcome.ok and len(ran) == 1
    row = await Tools(db).get_call(frame["tool_call_id"])
    assert (row.status, row.decided_by) == ("ok", world.user_id)
    with pytest.raises(Conflict, match="is ok, not waiting for approval"):
        await gate.decide(frame["tool_call_id"], False, world.user_id)


async def test_secret_fixed_arguments_reach_the_tool_only(
    db: Database, world: World, ran: list[dict[str, Any]]
) -> None:
    """A secret fixed argument is passed to the tool but left out of the `tool_calls` record
    and of the `tool.approval` frame that every participant receives."""
    gate, seen = ApprovalGate(db), Approvals()
    grant = GrantConfig(
        requires_approval=True, fixed_args={"to": "key-123@example.com"}, secret_args=["to"]
    )
    run = executor(db, world, ran, {"send_email": grant}, approvals=gate, emit=seen.emit)
    pending = asyncio.create_task(run.call("send_email", {"subject": "b"}, "c1"))
    frame = await seen.frames.get()
    assert frame["arguments"] == {"subject": "b", "body": ""}
    await gate.decide(frame["tool_call_id"], True, world.user_id)
    outcome = await pending
    assert outcome.ok and ran == [{"to": "key-123@example.com", "subject": "b"}]
    row = await Tools(db).get_call(frame["tool_call_id"])
    assert row.arguments == {"subject": "b", "body": ""}
    assert "key-123" not in str(row.arguments)


async def test_denied_call_never_runs(
    db: Database, world: World, ran: list[dict[str, Any]]
) -> None:
    gate, seen = ApprovalGate(db), Approvals()
    run = executor(
        db,
        world,
        ran,
        {"send_email": GrantConfig(requires_approval=True)},
        approvals=gate,
        emit=seen.emit,
    )
    pending = asyncio.create_task(run.call("send_email", {"to": "a", "subject": "b"}, "c1"))
    frame = await seen.frames.get()
    await gate.decide(frame["tool_call_id"], False, world.other_user_id)
    outcome = await pending
    assert (outcome.status, outcome.code) == ("denied", "approval_denied")
    assert ran == []
    row = await Tools(db).get_call(frame["tool_call_id"])
    assert (row.status, row.decided_by) == ("denied", world.other_user_id)


async def test_decision_from_another_process_reaches_the_waiter(
    db: Database, database_url: str, world: World, ran: list[dict[str, Any]]
) -> None:
    seen = Approvals()
    run = executor(
        db,
        world,
        ran,
        {"send_email": GrantConfig(requires_approval=True)},
        approvals=ApprovalGate(db, poll_interval=0.05),
        emit=seen.emit,
    )
    pending = asyncio.create_task(run.call("send_email", {"to": "a", "subject": "b"}, "c1"))
    frame = await seen.frames.get()
    elsewhere = Database(database_url)
    try:
        await ApprovalGate(elsewhere).decide(frame["tool_call_id"], True, world.user_id)
    finally:
        await elsewhere.close()
    outcome = await pending
    assert outcome.ok and len(ran) == 1


async def test_unanswered_approval_times_out_and_refuses_late_decisions(
    db: Database, world: World, ran: list[dict[str, Any]]
) -> None:
    gate = ApprovalGate(db, poll_interval=0.01)
    run = executor(
        db,
        world,
        ran,
        {"send_email": GrantConfig(requires_approval=True)},
        approvals=gate,
        approval_timeout=0.05,
    )
    outcome = await run.call("send_email", {"to": "a", "subject": "b"}, "c1")
    assert (outcome.status, outcome.code) == ("timeout", "approval_timeout")
    assert ran == []
    with pytest.raises(Conflict):
        await gate.decide(outcome.tool_call_id or "", True, world.user_id)


async def test_langchain_tools_route_through_the_executor(
    db: Database, world: World, ran: list[dict[str, Any]]
) -> None:
    grants = {"send_email": GrantConfig(fixed_args={"to": "boss@example.com"})}
    run = executor(db, world, ran, grants)
    [lc_tool] = run.langchain_tools()
    openai = convert_to_openai_tool(lc_tool)
    assert openai["function"]["name"] == "send_email"
    assert "to" not in openai["function"]["parameters"]["properties"]

    call = {"type": "tool_call", "id": "call-9", "name": "send_email", "args": {"subject": "x"}}
    message = await lc_tool.ainvoke(call)
    assert isinstance(message, ToolMessage)
    assert (message.tool_call_id, message.status, message.content) == (
        "call-9",
        "success",
        "sent to boss@example.com",
    )
    failed = await lc_tool.ainvoke({**call, "id": "call-10", "args": {}})
    assert failed.status == "error" and "invalid_arguments" in failed.content


async def test_cancelled_turn_closes_the_running_call(
    db: Database, world: World, ran: list[dict[str, Any]]
) -> None:
    started = asyncio.Event()
    run = executor(db, world, ran, {"hang": GrantConfig()}, started)
    task = asyncio.create_task(run.call("hang", {}, "c1"))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    [row] = await Tools(db).calls_for_turn(world.turn_id)
    assert (row.status, row.error) == ("error", "cancelled: the turn was cancelled")


async def test_everyone_is_told_who_decided(
    db: Database, world: World, ran: list[dict[str, Any]]
) -> None:
    gate, seen = ApprovalGate(db), Approvals()
    grants = {"send_email": GrantConfig(requires_approval=True)}
    run = executor(db, world, ran, grants, approvals=gate, emit=seen.emit)
    pending = asyncio.create_task(run.call("send_email", {"to": "a", "subject": "b"}, "c1"))
    asked = await seen.frames.get()
    await gate.decide(asked["tool_call_id"], True, world.other_user_id)
    decided = await seen.frames.get()
    assert decided["type"] == "tool.decision"
    assert {k: decided[k] for k in ("tool_call_id", "call_id", "turn_id", "tool", "status")} == {
        "tool_call_id": asked["tool_call_id"],
        "call_id": "c1",
        "turn_id": world.turn_id,
        "tool": "send_email",
        "status": "approved",
    }
    assert decided["decided_by"] == {"id": world.other_user_id, "name": "Bob"}
    assert decided["decided_at"] and decided["reason"] is None
    assert (await pending).ok


async def test_an_expired_approval_is_announced_with_why(
    db: Database, world: World, ran: list[dict[str, Any]]
) -> None:
    seen = Approvals()
    run = executor(
        db,
        world,
        ran,
        {"send_email": GrantConfig(requires_approval=True)},
        approvals=ApprovalGate(db, poll_interval=0.01),
        approval_timeout=0.05,
        emit=seen.emit,
    )
    outcome = await run.call("send_email", {"to": "a", "subject": "b"}, "c1")
    assert outcome.error == "nobody approved this call within 0.05 s"
    frames = [seen.frames.get_nowait() for _ in range(seen.frames.qsize())]
    assert [f["type"] for f in frames] == ["tool.approval", "tool.decision"]
    expired = frames[1]
    assert (expired["status"], expired["decided_by"]) == ("timeout", None)
    assert expired["reason"] == "no decision within 0.05 s"


async def test_a_turn_ending_while_a_call_waits_closes_it(
    db: Database, world: World, ran: list[dict[str, Any]]
) -> None:
    """The card of a turn that ended (cancelled, timed out) cannot be approved afterwards."""
    gate, seen = ApprovalGate(db), Approvals()
    grants = {"send_email": GrantConfig(requires_approval=True)}
    run = executor(db, world, ran, grants, approvals=gate, emit=seen.emit)
    pending = asyncio.create_task(run.call("send_email", {"to": "a", "subject": "b"}, "c1"))
    asked = await seen.frames.get()
    pending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await pending
    row = await Tools(db).get_call(asked["tool_call_id"])
    assert (row.status, row.error) == ("error", "cancelled: the turn ended before a decision")
    with pytest.raises(Conflict):
        await gate.decide(asked["tool_call_id"], True, world.user_id)
    assert ran == []


async def test_the_wait_for_a_person_happens_in_the_waiting_context(
    db: Database, world: World, ran: list[dict[str, Any]]
) -> None:
    clock = TurnClock()
    gate, seen = ApprovalGate(db), Approvals()
    grants = {"send_email": GrantConfig(requires_approval=True)}
    run = executor(db, world, ran, grants, approvals=gate, emit=seen.emit, waiting=clock.paused)
    pending = asyncio.create_task(run.call("send_email", {"to": "a", "subject": "b"}, "c1"))
    asked = await seen.frames.get()
    assert clock.is_paused
    await gate.decide(asked["tool_call_id"], True, world.user_id)
    assert (await pending).ok and not clock.is_paused
