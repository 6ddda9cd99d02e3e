"""The step agents' course tools through the executor: they act for the student whose module
conversation it is, whoever speaks in it, and attribute their changes to the agent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

import tools.builtin  # noqa: F401  (registers the built-ins)
from agents.course import ensure_course
from runtime.bus import InProcessBus
from runtime.playbook import PlaybookRunner
from runtime.settings import Settings
from store.conversations import Conversations, NewParticipant
from store.course import CourseWork
from store.db import Database
from store.elevate import ActivityLog, CourseModules
from store.foundation import Foundations
from store.models import Agent
from store.tools import Tools
from store.users import Users
from tools.context import ToolContext
from tools.executor import ToolExecutor
from tools.grants import grants_from_rows
from tools.registry import registry


@dataclass
class Room:
    alice: str
    bob: str
    agent: Agent
    module_id: str
    conversation_id: str


@pytest.fixture
async def room(db: Database) -> Room:
    await Tools(db).sync(registry)
    agents = await ensure_course(db)
    users = Users(db)
    alice = await users.create("alice@example.com", "Alice", "correct horse")
    bob = await users.create("bob@example.com", "Bob", "correct horse")
    hook = await CourseModules(db).by_number(1)
    conversation = await Conversations(db).create(
        "Hook",
        alice.id,
        participants=[NewParticipant(agent_id=agents[1].id), NewParticipant(user_id=bob.id)],
    )
    await CourseWork(db).set_conversation(alice.id, hook.id, conversation.id)
    return Room(alice.id, bob.id, agents[1], hook.id, conversation.id)


async def executor(db: Database, room: Room, user_id: str, **context: Any) -> ToolExecutor:
    grants = grants_from_rows(await Tools(db).grants_for_agent(room.agent.id), agent="hook")
    fields = {
        "user_id": user_id,
        "conversation_id": room.conversation_id,
        "agent_id": room.agent.id,
        "tool_call_id": None,
        **context,
    }
    return ToolExecutor(registry, db, grants=grants, context=ToolContext(**fields))


async def test_step_agents_are_granted_the_course_tools_and_their_steps_kpis(
    db: Database, room: Room
) -> None:
    grants = {t.name: g for t, g in await Tools(db).grants_for_agent(room.agent.id)}
    assert set(grants) == {
        "read_foundation",
        "update_foundation",
        "list_step_prompts",
        "run_step_prompt",
        "save_asset",
        "tick_checklist",
        "read_step_kpis",
    }
    assert grants["read_step_kpis"].config["fixed_args"] == {"step": "Hook"}


async def test_a_teammate_asking_reads_the_students_kpis_not_their_own(
    db: Database, room: Room
) -> None:
    from store.kpis import Snapshots

    for day, ctr in (("2026-10-01", 0.021), ("2026-11-01", 0.014)):
        when = datetime.fromisoformat(day).replace(tzinfo=UTC)
        await Snapshots(db).add(room.alice, snapshot_date=when, hook_avg_ctr=ctr)
    run = await executor(db, room, room.bob)
    outcome = await run.call("read_step_kpis", {}, "k1")
    assert outcome.ok, outcome
    assert outcome.result["step"] == "Hook"
    assert "fell from 2.1% to 1.4%" in outcome.result["summary"]


async def test_update_foundation_is_versioned_for_the_student_and_attributed_to_the_agent(
    db: Database, room: Room
) -> None:
    # Bob, invited into Alice's Hook room, asks; the tool still works on Alice's Foundation.
    tools_for_bob = await executor(db, room, room.bob)
    outcome = await tools_for_bob.call(
        "update_foundation", {"changes": {"customer_avatar.pains": ["Flat coffee"]}}, "c1"
    )
    assert outcome.ok, outcome
    assert outcome.result == {"version": 1, "saved": ["customer_avatar.pains"]}
    (version,) = await Foundations(db).history(room.alice)
    assert version.changed_by_agent_id == room.agent.id and version.changed_by_user_id is None
    assert version.changes[0]["new"] == ["Flat coffee"]
    assert await Foundations(db).find(room.bob) is None

    refused = await tools_for_bob.call(
        "update_foundation", {"changes": {"customer_avatar.pains": ["x"]}, "user_id": room.bob}
    )
    assert not refused.ok
    wrong = await tools_for_bob.call(
        "update_foundation", {"changes": {"customer_avatar.pains": "x"}}
    )
    assert not wrong.ok and "customer_avatar.pains" in (wrong.error or "")
    assert len(await Foundations(db).history(room.alice)) == 1
    log = await ActivityLog(db).list_for_user(room.alice)
    assert log[0].action_type == "foundation_updated"
    assert log[0].details["by_agent_id"] == room.agent.id


async def test_tools_refuse_a_conversation_that_is_not_a_module_conversation(
    db: Database, room: Room
) -> None:
    other = await Conversations(db).create(
        "Bob's chat", room.bob, participants=[NewParticipant(agent_id=room.agent.id)]
    )
    tools_elsewhere = await executor(db, room, room.bob, conversation_id=other.id)
    outcome = await tools_elsewhere.call("read_foundation", {})
    assert not outcome.ok and outcome.code == "not_a_module_conversation"


async def test_run_save_and_tick_through_the_tools(db: Database, room: Room) -> None:
    settings = Settings(
        _env_file=None,
        database_url=db.url,
        environment="test",
        openai_api_key=None,
        openai_base_url=None,
    )
    PlaybookRunner(db, settings, InProcessBus())
    tools_for_alice = await executor(db, room, room.alice)
    missing = await tools_for_alice.call("run_step_prompt", {"prompt_code": "H1"})
    assert not missing.ok and missing.code == "missing_context"
    assert "Customer pains" in (missing.error or "")

    await Foundations(db).update(
        room.alice,
        {
            "customer_avatar": {"pains": ["Flat coffee"]},
            "company_context": {
                "unique_mechanism": "roast to order",
                "brand_voice_adjectives": ["warm"],
            },
        },
    )
    listed = await tools_for_alice.call("list_step_prompts", {})
    assert [p["prompt_code"] for p in listed.result] == ["H1", "H2", "H3"]
    assert listed.result[0]["missing"] == []
    assert not (await tools_for_alice.call("run_step_prompt", {"prompt_code": "S1"})).ok

    ran = await tools_for_alice.call("run_step_prompt", {"prompt_code": "H1"})
    assert ran.ok and ran.result["status"] == "Success", ran
    assert any("Flat coffee" in item for item in ran.result["output"]["items"])
    saved = await tools_for_alice.call(
        "save_asset",
        {
            "asset_type": "Headline",
            "content": "Flat coffee? Not any more.",
            "prompt_execution_id": ran.result["execution_id"],
        },
    )
    assert saved.ok
    ticked = await tools_for_alice.call("tick_checklist", {"index": 0})
    assert ticked.ok and ticked.result["checked"] == [0]

    (asset,) = await CourseWork(db).assets(room.alice, "Hook")
    assert asset.prompt_execution_id == ran.result["execution_id"]
    progress = (await CourseWork(db).progress(room.alice))[room.module_id]
    assert progress.status == "In Progress" and progress.checked == [0]
    kinds = [row.action_type for row in await ActivityLog(db).list_for_user(room.alice)]
    for kind in (
        "prompt_run",
        "asset_created",
        "checklist_ticked",
        "module_status_changed",
        "agent_tool_call",
    ):
        assert kind in kinds
    assert await CourseWork(db).assets(room.bob) == []
