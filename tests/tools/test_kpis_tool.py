"""`read_step_kpis` through the executor: the step from the grant, the student injected."""

from __future__ import annotations

from datetime import UTC, datetime

import tools.builtin  # noqa: F401  (registers the built-ins)
from store.db import Database
from store.kpis import Snapshots
from tests.tools.conftest import World
from tools.executor import ToolExecutor
from tools.grants import GrantConfig, validate_grant
from tools.registry import registry


def executor(db: Database, world: World, grant: GrantConfig, **context: object) -> ToolExecutor:
    return ToolExecutor(
        registry, db, grants={"read_step_kpis": grant}, context=world.context(**context)
    )


async def _history(db: Database, user_id: str) -> None:
    snapshots = Snapshots(db)
    for month, ctr, cpl in [(4, 0.025, 5.5), (5, 0.021, 5.0), (6, 0.014, 4.0)]:
        await snapshots.add(
            user_id,
            snapshot_date=datetime(2024, month, 1, tzinfo=UTC),
            hook_avg_ctr=ctr,
            gift_cpl=cpl,
        )


async def test_hook_agent_reads_its_ctr_trend_and_target(db: Database, world: World) -> None:
    await _history(db, world.user_id)
    grant = GrantConfig(fixed_args={"step": "Hook"})
    spec = registry.get("read_step_kpis")
    validate_grant(grant, spec, agent="hook-agent")
    hook = executor(db, world, grant)
    # The model sees neither the step (fixed) nor whose KPIs (injected).
    schema = hook.parameters_for(spec)
    assert set(schema["properties"]) == {"periods"}
    outcome = await hook.call("read_step_kpis", {"step": "Gift", "periods": 2})
    assert outcome.ok, outcome.error
    body = outcome.result
    assert body["step"] == "Hook" and body["module_number"] == 1
    (ctr,) = body["metrics"]
    assert (ctr["metric"], ctr["value"], ctr["previous"], ctr["target"]) == (
        "hook_avg_ctr",
        0.014,
        0.021,
        0.02,
    )
    assert ctr["below_target"] is True and round(ctr["gap"], 6) == 0.3
    assert [p["value"] for p in ctr["trend"]] == [0.021, 0.014]
    assert body["summary"] == "Hook CTR fell from 2.1% to 1.4% (target 2.0%)."


async def test_another_students_numbers_are_never_read(db: Database, world: World) -> None:
    await _history(db, world.other_user_id)
    outcome = await executor(db, world, GrantConfig()).call("read_step_kpis", {"step": "Gift"})
    assert outcome.ok
    assert outcome.result["metrics"][1]["value"] is None
    assert outcome.result["summary"].startswith("No funnel snapshots yet")
    # A model cannot smuggle a user id in: it is not an argument.
    outcome = await executor(db, world, GrantConfig()).call(
        "read_step_kpis", {"step": "Gift", "user_id": world.other_user_id}
    )
    assert not outcome.ok and outcome.code == "invalid_arguments"


async def test_cost_metric_and_missing_step(db: Database, world: World) -> None:
    await _history(db, world.user_id)
    gift = await executor(db, world, GrantConfig(fixed_args={"step": "Gift"})).call(
        "read_step_kpis", {}
    )
    cpl = next(m for m in gift.result["metrics"] if m["metric"] == "gift_cpl")
    assert cpl["below_target"] is False and cpl["text"] == (
        "Cost per lead fell from 5.00 to 4.00 (target 5.00)."
    )
    outcome = await executor(db, world, GrantConfig()).call("read_step_kpis", {})
    assert (outcome.status, outcome.code) == ("error", "missing_context")
