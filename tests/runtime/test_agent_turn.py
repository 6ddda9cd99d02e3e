"""One agent turn end to end: streaming, tools, delegation, failures, checkpoints."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from langchain_core.messages import SystemMessage, ToolMessage

from runtime.agent_turn import AgentRunner, AgentTurnRequest
from runtime.checkpoints import checkpoint_path, open_checkpointer
from runtime.settings import Settings
from runtime.testing import EventRecorder, Reply, clear_scripted, scripted
from store.db import Database
from store.models import ToolCall
from store.tools import Tools
from tests.support import Room, make_room
from tools.registry import ToolRegistry


@pytest.fixture(autouse=True)
def _forget_scripted() -> Iterator[None]:
    yield
    clear_scripted()


@pytest.fixture
def registry() -> ToolRegistry:
    tools = ToolRegistry()

    @tools.tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    @tools.tool
    def explode(reason: str) -> str:
        """Always fails."""
        raise RuntimeError(f"boom: {reason}")

    return tools


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, history_window=10)


async def grant(db: Database, registry: ToolRegistry, agent_id: str, *names: str) -> None:
    tools = Tools(db)
    await tools.sync(registry)
    for name in names:
        await tools.grant(agent_id, (await tools.get_by_name(name)).id)


def request(room: Room, handle: str, turn_id: str, emit: EventRecorder, **extra: object):
    return AgentTurnRequest(
        conversation_id=room.conversation_id,
        turn_id=turn_id,
        agent_id=room.agents[handle].id,
        user_id=room.users["Ann"].id,
        group_id=None,
        emit=emit,
        **extra,  # type: ignore[arg-type]
    )


async def test_tool_turn_streams_ordered_events_and_content_equals_deltas(
    db: Database, settings: Settings, registry: ToolRegistry
) -> None:
    model = scripted(
        "calc",
        Reply("Let me add that.", tool_calls=[("add", {"a": 2, "b": 3})], usage=(10, 4)),
        Reply("The sum is 5.", usage=(20, 4)),
    )
    room = await make_room(db, ["Ann"], [{"name": "Calc", "model": "scripted:calc"}])
    await grant(db, registry, room.agents["calc"].id, "add")
    await room.say("Ann", "@calc what is 2 + 3?")
    turn_id = await room.start_turn("calc")
    events = EventRecorder()

    result = await AgentRunner(db, settings, registry).run(request(room, "calc", turn_id, events))

    assert result.status == "completed", result.error
    assert result.content == events.text() == "Let me add that.\n\nThe sum is 5."
    assert (result.input_tokens, result.output_tokens) == (30, 8)
    assert result.model == "scripted:calc"
    kinds = [kind for kind, _ in itertools.groupby(events.types())]
    assert kinds == ["delta", "tool.call", "tool.result", "delta"]
    call, outcome = events.of_type("tool.call")[0], events.of_type("tool.result")[0]
    assert call["tool"] == "add" and call["arguments"] == {"a": 2, "b": 3}
    assert outcome["status"] == "ok" and outcome["result"] == 5
    assert outcome["call_id"] == call["call_id"]
    assert all(f["turn_id"] == turn_id for f in events.frames)
    assert all(f["conversation_id"] == room.conversation_id for f in events.frames)
    # The second model call saw the tool result, and the first the person's message.
    assert [m.content for m in model.received[1] if isinstance(m, ToolMessage)] == ["5"]
    assert "Ann: @calc what is 2 + 3?" in model.last_prompt_text()
    assert model.tools_seen[0] == ["add"]
    async with db.session() as session:
        rows = (await session.execute(ToolCall.__table__.select())).all()
    assert [(r.tool_name, r.status, r.turn_id) for r in rows] == [("add", "ok", turn_id)]


async def test_failing_tool_does_not_fail_the_turn(
    db: Database, settings: Settings, registry: ToolRegistry
) -> None:
    model = scripted(
        "fragile",
        Reply(tool_calls=[("explode", {"reason": "test"}), ("add", {"a": 1})]),
        "Sorry, that did not work.",
    )
    room = await make_room(db, ["Ann"], [{"name": "Fragile", "model": "scripted:fragile"}])
    await grant(db, registry, room.agents["fragile"].id, "explode", "add")
    await room.say("Ann", "try it")
    events = EventRecorder()

    result = await AgentRunner(db, settings, registry).run(
        request(room, "fragile", await room.start_turn("fragile"), events)
    )

    assert result.status == "completed"
    assert result.content == events.text() == "Sorry, that did not work."
    statuses = [(r["tool"], r["status"], r["code"]) for r in events.of_type("tool.result")]
    assert statuses == [("explode", "error", "tool_error"), ("add", "error", "invalid_arguments")]
    errors = [m.content for m in model.received[1] if isinstance(m, ToolMessage)]
    assert "boom: test" in errors[0] and "'b'" in errors[1]


async def test_ungranted_tool_is_refused_and_turn_goes_on(
    db: Database, settings: Settings, registry: ToolRegistry
) -> None:
    scripted("sneaky", Reply(tool_calls=[("add", {"a": 1, "b": 1})]), "Fine.")
    room = await make_room(db, ["Ann"], [{"name": "Sneaky", "model": "scripted:sneaky"}])
    await room.say("Ann", "hi")
    events = EventRecorder()
    result = await AgentRunner(db, settings, registry).run(
        request(room, "sneaky", await room.start_turn("sneaky"), events)
    )
    assert result.status == "completed"
    assert events.of_type("tool.result")[0]["code"] == "tool_not_granted"


async def test_model_error_fails_the_turn_with_what_streamed(
    db: Database, settings: Settings, registry: ToolRegistry
) -> None:
    scripted("flaky", Reply("Half an ans", error=ConnectionError("provider went away")))
    room = await make_room(db, ["Ann"], [{"name": "Flaky", "model": "scripted:flaky"}])
    await room.say("Ann", "hello")
    events = EventRecorder()
    result = await AgentRunner(db, settings, registry).run(
        request(room, "flaky", await room.start_turn("flaky"), events)
    )
    assert result.status == "failed"
    assert result.content == events.text() == "Half an ans"
    assert "provider went away" in (result.error or "")


async def test_bad_definition_fails_the_turn_naming_the_agent(
    db: Database, settings: Settings, registry: ToolRegistry
) -> None:
    room = await make_room(db, ["Ann"], [{"name": "Broken", "model": "nowhere:x"}])
    result = await AgentRunner(db, settings, registry).run(
        request(room, "broken", await room.start_turn("broken"), EventRecorder())
    )
    assert result.status == "failed"
    assert "Broken" in (result.error or "") and "nowhere" in (result.error or "")


async def test_cancellation_propagates(
    db: Database, settings: Settings, registry: ToolRegistry
) -> None:
    hold = asyncio.Event()
    scripted("slow", Reply("one two three four", hold=hold, hold_after=2))
    room = await make_room(db, ["Ann"], [{"name": "Slow", "model": "scripted:slow"}])
    await room.say("Ann", "go")
    events = EventRecorder()
    runner = AgentRunner(db, settings, registry)
    task = asyncio.create_task(
        runner.run(request(room, "slow", await room.start_turn("slow"), events))
    )
    await events.wait_for("delta", 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert events.text() == "one two "


async def test_delegation_calls_back_and_returns_the_answer(
    db: Database, settings: Settings, registry: ToolRegistry
) -> None:
    model = scripted(
        "boss",
        Reply(tool_calls=[("delegate", {"agent": "@Helper", "task": "find the figure"})]),
        Reply(tool_calls=[("delegate", {"agent": "stranger", "task": "anything"})]),
        "Done.",
    )
    room = await make_room(db, ["Ann"], [{"name": "Helper"}])
    boss = await make_room_agent(db, room, "Boss", "scripted:boss", [room.agents["helper"].id])
    await room.say("Ann", "@boss get me the figure")
    asked: list[tuple[str, str]] = []

    async def delegate(handle: str, task: str) -> str:
        asked.append((handle, task))
        return "The figure is 42."

    events = EventRecorder()
    result = await AgentRunner(db, settings, registry).run(
        request(room, boss, await room.start_turn(boss), events, delegate=delegate)
    )

    assert result.status == "completed" and result.content == "Done."
    assert asked == [("helper", "find the figure")]
    results = events.of_type("tool.result")
    assert (results[0]["status"], results[0]["result"]) == ("ok", "The figure is 42.")
    assert (results[1]["status"], results[1]["code"]) == ("refused", "delegation_refused")
    assert "The figure is 42." in [
        m.content for m in model.received[1] if isinstance(m, ToolMessage)
    ]
    schema = model.tools_seen[0]
    assert schema == ["delegate"]
    system = model.received[0][0]
    assert isinstance(system, SystemMessage) and "@helper" in system.content


async def make_room_agent(
    db: Database, room: Room, name: str, model: str, delegates: list[str]
) -> str:
    """Add an agent that delegates to others to an existing room; its handle."""
    from store.agents import Agents
    from store.conversations import Conversations, NewParticipant

    agent = await Agents(db).create(name=name, model=model, delegates_to=delegates)
    participant = await Conversations(db).add_participant(
        room.conversation_id, NewParticipant(agent_id=agent.id)
    )
    room.agents[agent.handle] = agent
    room.participants[agent.handle] = participant
    return agent.handle


async def test_delegated_task_reaches_the_model(
    db: Database, settings: Settings, registry: ToolRegistry
) -> None:
    model = scripted("helper", "On it: 42.")
    room = await make_room(db, ["Ann"], [{"name": "Helper", "model": "scripted:helper"}])
    await room.say("Ann", "hello all")
    result = await AgentRunner(db, settings, registry).run(
        request(
            room,
            "helper",
            await room.start_turn("helper"),
            EventRecorder(),
            task="find the figure",
            delegation_depth=1,
        )
    )
    assert result.content == "On it: 42."
    assert "Task handed to you by another agent" in model.last_prompt_text()
    assert "find the figure" in str(model.received[0][-1].content)


async def test_offline_agent_remembers_through_the_builtin_tool(
    db: Database, settings: Settings
) -> None:
    import tools.builtin  # noqa: F401  (registers remember/recall)
    from store.memories import Memories
    from tools.registry import registry

    room = await make_room(db, ["Ann"], [{"name": "Assistant", "model": "offline:default"}])
    await grant(db, registry, room.agents["assistant"].id, "remember", "recall")
    await room.say("Ann", "@assistant remember that my cat is called Miso")
    events = EventRecorder()
    result = await AgentRunner(db, settings, registry).run(
        request(room, "assistant", await room.start_turn("assistant"), events)
    )
    assert result.status == "completed", result.error
    assert result.content == events.text()
    assert result.content.startswith("Assistant (offline): remember returned")
    memories = await Memories(db).recall(
        room.agents["assistant"].id, "cat", user_id=room.users["Ann"].id
    )
    assert [m.content for m in memories] == ["my cat is called Miso"]


@pytest.fixture
async def checkpointer(settings: Settings) -> AsyncIterator[object]:
    async with open_checkpointer(settings) as saver:
        yield saver


async def test_turn_state_is_checkpointed_and_resumable(
    db: Database, settings: Settings, registry: ToolRegistry, checkpointer: object
) -> None:
    hold = asyncio.Event()
    scripted(
        "steps",
        Reply("Adding.", tool_calls=[("add", {"a": 40, "b": 2})]),
        Reply("It is 42.", hold=hold, hold_after=1),
        "It is 42 indeed.",
    )
    room = await make_room(db, ["Ann"], [{"name": "Steps", "model": "scripted:steps"}])
    await grant(db, registry, room.agents["steps"].id, "add")
    await room.say("Ann", "add 40 and 2")
    turn_id = await room.start_turn("steps")
    runner = AgentRunner(db, settings, registry, checkpointer=checkpointer)
    events = EventRecorder()
    task = asyncio.create_task(runner.run(request(room, "steps", turn_id, events)))
    await events.wait_for("delta", 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    compiled = await runner.compiler.compile(room.agents["steps"].id)
    saved = await compiled.graph(checkpointer).aget_state({"configurable": {"thread_id": turn_id}})
    kinds = [type(m).__name__ for m in saved.values["messages"]]
    assert kinds == ["HumanMessage", "AIMessage", "ToolMessage"]
    assert saved.next == ("model",)

    resumed = EventRecorder()
    result = await runner.resume(request(room, "steps", turn_id, resumed))
    assert result.status == "completed"
    assert result.content == resumed.text() == "It is 42 indeed."
    if Settings(database_url=settings.database_url).resolved_database_url.startswith("sqlite"):
        database = settings.resolved_database_url.split("///", 1)[1]
        assert checkpoint_path(database).exists()
        assert Path(database).parent == checkpoint_path(database).parent


async def test_tool_loop_is_bounded_by_max_steps(
    db: Database, settings: Settings, registry: ToolRegistry
) -> None:
    from runtime.compiler import AgentCompiler

    forever = Reply(tool_calls=[("add", {"a": 1, "b": 1})])
    model = scripted("loop", forever, forever, Reply("Giving up on tools."))
    room = await make_room(db, ["Ann"], [{"name": "Loop", "model": "scripted:loop"}])
    await grant(db, registry, room.agents["loop"].id, "add")
    await room.say("Ann", "count")
    compiler = AgentCompiler(db, settings, registry, max_steps=3)
    events = EventRecorder()
    result = await AgentRunner(db, settings, registry, compiler=compiler).run(
        request(room, "loop", await room.start_turn("loop"), events)
    )
    assert result.status == "completed" and result.content == "Giving up on tools."
    assert model.calls == 3
    assert model.tools_seen == [["add"], ["add"], []]
    assert len(events.of_type("tool.result")) == 2


async def test_approval_is_requested_through_emit_and_then_runs(
    db: Database, settings: Settings, registry: ToolRegistry
) -> None:
    scripted("careful", Reply(tool_calls=[("add", {"a": 20, "b": 22})]), "Approved: 42.")
    room = await make_room(db, ["Ann"], [{"name": "Careful", "model": "scripted:careful"}])
    tools = Tools(db)
    await tools.sync(registry)
    add = await tools.get_by_name("add")
    await tools.grant(room.agents["careful"].id, add.id, {"requires_approval": True})
    await room.say("Ann", "add carefully")
    events = EventRecorder()
    runner = AgentRunner(db, settings, registry)
    turn = asyncio.create_task(
        runner.run(request(room, "careful", await room.start_turn("careful"), events))
    )
    await events.wait_for("tool.approval")
    (asked,) = events.of_type("tool.approval")
    assert (asked["tool"], asked["arguments"]) == ("add", {"a": 20, "b": 22})
    await runner.approvals.decide(asked["tool_call_id"], True, room.users["Ann"].id)
    result = await turn
    assert result.content == "Approved: 42."
    assert events.of_type("tool.result")[0]["result"] == 42
    assert events.types().index("tool.call") < events.types().index("tool.approval")
