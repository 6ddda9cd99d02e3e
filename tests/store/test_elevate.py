"""The Elevate repositories: playbook, modules, Foundation, runs, assets, progress, KPIs, log."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from store.db import Database
from store.elevate import (
    ActivityLog,
    Assets,
    CourseModules,
    Foundations,
    FunnelSnapshots,
    ModuleProgress,
    PlaybookPrompts,
    PromptExecutions,
)
from store.errors import Conflict, InvalidValue, NotFound
from tests.store import factories


def prompt(code: str, step: str = "Hook") -> dict[str, object]:
    return {
        "step": step,
        "prompt_code": code,
        "title": f"Prompt {code}",
        "description": "Why",
        "rocket_template": "Role: {company_context.brand_voice}",
        "required_context": ["company_context.brand_voice"],
        "output_type": "List",
    }


async def test_playbook_prompts_by_step_and_code(db: Database) -> None:
    playbook = PlaybookPrompts(db)
    for code, step in [("H2", "Hook"), ("H1", "Hook"), ("G1", "Gift")]:
        await playbook.create(**prompt(code, step))
    assert [p.prompt_code for p in await playbook.by_step("Hook")] == ["H1", "H2"]
    assert (await playbook.by_code("G1")).required_context == ["company_context.brand_voice"]
    with pytest.raises(NotFound, match="prompt_code='Z9'"):
        await playbook.by_code("Z9")
    with pytest.raises(Conflict, match="playbook_prompts"):
        await playbook.create(**prompt("H1"))
    with pytest.raises(InvalidValue, match=r"playbook_prompts\.step: 'Fishing'"):
        await playbook.create(**prompt("F1", "Fishing"))
    with pytest.raises(InvalidValue, match=r"playbook_prompts\.step: 'Fishing'"):
        await playbook.by_step("Fishing")


async def test_course_modules_by_number(db: Database) -> None:
    modules = CourseModules(db)
    await modules.create(module_number=1, step="Hook", title="Hook", objective="Stop the scroll")
    await modules.create(module_number=0, step="Foundation", title="Foundation", objective="Know")
    assert [m.module_number for m in await modules.list()] == [0, 1]
    hook = await modules.by_number(1)
    updated = await modules.update(hook.id, checklist_items=["Write 10 hooks"])
    assert updated.checklist_items == ["Write 10 hooks"] and updated.updated_at is not None
    with pytest.raises(NotFound, match="module_number=9"):
        await modules.by_number(9)
    with pytest.raises(Conflict):
        await modules.create(module_number=1, step="Hook", title="Again", objective="x")


async def test_foundation_upsert_keeps_sections_not_given(db: Database) -> None:
    student = await factories.user(db)
    foundations = Foundations(db)
    with pytest.raises(NotFound, match="user_foundations with user_id="):
        await foundations.get(student.id)
    first = await foundations.upsert(student.id, company_context={"core_offers": "Tea"})
    second = await foundations.upsert(student.id, customer_avatar={"pains": ["cold tea"]})
    assert second.id == first.id
    stored = await foundations.get(student.id)
    assert stored.company_context == {"core_offers": "Tea"}
    assert stored.customer_avatar == {"pains": ["cold tea"]}
    assert stored.market_awareness == {}
    assert stored.last_updated_at >= first.last_updated_at
    with pytest.raises(InvalidValue, match=r"user_foundations\.customer_avatar"):
        await foundations.upsert(student.id, customer_avatar=["not", "an", "object"])
    with pytest.raises(InvalidValue, match=r"user_foundations\.favourite_colour"):
        await foundations.upsert(student.id, favourite_colour="teal")


async def test_racing_first_foundation_saves_make_one_row(db: Database) -> None:
    student = await factories.user(db)
    foundations = Foundations(db)
    rows = await asyncio.gather(
        *(foundations.upsert(student.id, strategic_blueprint_summary=f"v{i}") for i in range(5))
    )
    assert len({row.id for row in rows}) == 1


async def test_prompt_execution_lifecycle_and_assets(db: Database) -> None:
    student = await factories.user(db)
    runs, assets = PromptExecutions(db), Assets(db)
    snapshot = {"company_context": {"brand_voice": ["warm"]}}
    run = await runs.create(student.id, "H1", "Hook", snapshot)
    assert run.status == "Pending" and run.input_context_snapshot == snapshot

    asset = await assets.create(
        student.id, "Hook", "Ad Headline", "Warm tea, cold days", prompt_execution_id=run.id
    )
    assert asset.status == "Draft"
    done = await runs.finish(run.id, "Success", {"text": "..."}, refined_output_asset_id=asset.id)
    assert done.status == "Success" and done.ai_response_timestamp is not None
    assert (await runs.get(run.id)).refined_output_asset_id == asset.id
    with pytest.raises(Conflict, match="already Success"):
        await runs.finish(run.id, "Error")
    with pytest.raises(InvalidValue, match=r"user_prompt_executions\.status: 'Pending'"):
        await runs.finish(run.id, "Pending")
    with pytest.raises(NotFound):
        await runs.finish("no-such-run", "Error")
    with pytest.raises(InvalidValue, match=r"user_prompt_executions\.elevate_step: 'Fishing'"):
        await runs.create(student.id, "X1", "Fishing", {})

    implemented = await assets.set_status(asset.id, "Implemented")
    assert implemented.status == "Implemented"
    with pytest.raises(InvalidValue, match=r"user_generated_assets\.status: 'Published'"):
        await assets.set_status(asset.id, "Published")
    with pytest.raises(NotFound):
        await assets.set_status("no-such-asset", "Archived")
    assert [a.id for a in await assets.list_for_user(student.id, "Hook")] == [asset.id]
    assert await assets.list_for_user(student.id, "Gift") == []
    assert [r.id for r in await runs.list_for_user(student.id)] == [run.id]


async def test_module_progress_upsert_stamps_completion(db: Database) -> None:
    student = await factories.user(db)
    module = await factories.module(db)
    progress = ModuleProgress(db)
    started = await progress.upsert(student.id, module.id, "In Progress", notes="halfway")
    assert started.completed_at is None
    completed = await progress.upsert(student.id, module.id, "Completed")
    assert completed.id == started.id and completed.completed_at is not None
    assert completed.notes == "halfway"
    assert (await progress.get(student.id, module.id)).status == "Completed"
    with pytest.raises(InvalidValue, match=r"user_module_progress\.status: 'Done'"):
        await progress.upsert(student.id, module.id, "Done")
    with pytest.raises(InvalidValue):
        await progress.upsert(student.id, "no-such-module", "In Progress")
    assert len(await progress.list_for_user(student.id)) == 1


async def test_funnel_snapshots_by_user_and_date(db: Database) -> None:
    student, other = await factories.user(db), await factories.user(db, "Other")
    snapshots = FunnelSnapshots(db)
    march = datetime(2024, 3, 1, tzinfo=UTC)
    january = datetime(2024, 1, 1, tzinfo=UTC)
    await snapshots.add(student.id, march, "Month of March", hook_avg_ctr=0.021, overall_roi=3.5)
    await snapshots.add(student.id, january, "Month of January", hook_avg_ctr=0.012)
    await snapshots.add(other.id, march, "Month of March")
    listed = await snapshots.list_for_user(student.id)
    assert [s.snapshot_date for s in listed] == [january, march]
    assert listed[1].overall_roi == 3.5
    recent = await snapshots.list_for_user(student.id, since=datetime(2024, 2, 1, tzinfo=UTC))
    assert [s.time_period for s in recent] == ["Month of March"]
    with pytest.raises(InvalidValue, match=r"user_funnel_snapshots\.hook_ctr"):
        await snapshots.add(student.id, march, "x", hook_ctr=1.0)


async def test_activity_log_newest_first(db: Database) -> None:
    student = await factories.user(db)
    log = ActivityLog(db)
    await log.append(student.id, "prompt_run", action_ref="H1", details={"ok": True})
    await log.append(student.id, "module_complete", action_ref="1")
    entries = await log.list_for_user(student.id)
    assert [e.action_type for e in entries] == ["module_complete", "prompt_run"]
    assert entries[1].details == {"ok": True}
    with pytest.raises(InvalidValue):
        await log.append("no-such-user", "prompt_run")
