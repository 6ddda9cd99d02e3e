"""Playbook runs in the usage ledger: the tokens the real OpenAI client reported for a
structured-output run, the offline draft's, billed to the student and the step agent; a
used-up budget refuses the next run before anything is stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from runtime.bus import InProcessBus
from runtime.metering import BudgetExceeded
from runtime.playbook import PlaybookRunner
from runtime.settings import Settings
from store.course import CourseWork
from store.db import Database
from store.elevate import CourseModules
from store.usage import LedgerScope, cost_report
from tests.runtime.test_playbook import ITEMS, _run, _student
from tests.support.openai_server import OpenAIServer, ScriptedCompletion

TODAY = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    reply = ScriptedCompletion(
        json.dumps({"items": ITEMS}), prompt_tokens=400, completion_tokens=90, cached_tokens=100
    )
    with OpenAIServer([reply]) as running:
        yield running


def _settings(db: Database, **fields: object) -> Settings:
    return Settings(_env_file=None, database_url=db.url, environment="test", **fields)  # type: ignore[arg-type]


async def _hook_agent(db: Database) -> str:
    module = next(m for m in await CourseModules(db).list() if m.step == "Hook")
    assert module.agent_id is not None
    return module.agent_id


async def test_a_structured_run_records_what_the_model_reported(
    db: Database, openai_server: OpenAIServer
) -> None:
    user_id = await _student(db)
    settings = _settings(db, openai_base_url=openai_server.base_url, openai_api_key="test")
    runner = PlaybookRunner(db, settings, InProcessBus())
    runner.meter.now = lambda: TODAY
    done = await _run(runner, user_id, "H2")
    assert done.status == "Success", done.error  # type: ignore[attr-defined]

    report = await cost_report(db, LedgerScope("2026-03-01", "2026-03-01", user_id))
    totals = report["totals"]
    assert (totals["runs"], totals["turns"]) == (1, 0)
    assert (totals["input_tokens"], totals["output_tokens"], totals["cached_tokens"]) == (
        400,
        90,
        100,
    )
    (agent,) = report["agents"]
    assert agent["agent_id"] == await _hook_agent(db)
    (model,) = report["models"]
    # With an endpoint and no model on the step agent, the default (gpt-4o-mini) ran.
    assert (model["model"], model["priced"]) == ("openai:gpt-4o-mini", True)
    assert totals["cost"] == pytest.approx((300 * 0.15 + 100 * 0.075 + 90 * 0.6) / 1_000_000)


async def test_offline_runs_count_tokens_and_a_used_up_budget_refuses_the_next(
    db: Database,
) -> None:
    user_id = await _student(db)
    settings = _settings(
        db, openai_api_key=None, openai_base_url=None, daily_token_budget_per_user=50
    )
    runner = PlaybookRunner(db, settings, InProcessBus())
    runner.meter.now = lambda: TODAY
    first = await _run(runner, user_id, "S2")
    assert first.status == "Success"  # type: ignore[attr-defined]
    report = await cost_report(db, LedgerScope("2026-03-01", "2026-03-01", user_id))
    used = report["totals"]["input_tokens"] + report["totals"]["output_tokens"]
    assert used > 50 and report["totals"]["cost"] == 0.0
    assert report["models"][0]["priced"] is True  # the offline model is free, not unknown

    before = await CourseWork(db).executions(user_id)
    with pytest.raises(BudgetExceeded, match="this person's daily token budget"):
        await runner.start(user_id, "S2", by=user_id)
    assert len(await CourseWork(db).executions(user_id)) == len(before)
