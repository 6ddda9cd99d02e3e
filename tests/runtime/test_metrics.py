"""The process's metrics count database and bus errors where they happen."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from runtime import metrics, turn_observer
from runtime.bus_redis import RedisBus
from store.db import Database
from tests.runtime.group_harness import (
    add_agent,
    add_room,
    add_user,
    grant,
    offline_settings,
    open_world,
    real_runner,
)
from tools.errors import UNKNOWN_TOOL
from tools.outcome import ToolOutcome


def counted(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_failing_statement_counts_a_database_error(db: Database) -> None:
    metrics.watch_database(db.engine, db.dialect)
    before = counted("elevate_database_errors_total", backend=db.dialect)
    with pytest.raises(Exception, match="no_such_table"):
        async with db.read() as session:
            await session.execute(text("SELECT * FROM no_such_table"))
    assert counted("elevate_database_errors_total", backend=db.dialect) == before + 1
    async with db.read() as session:
        await session.execute(text("SELECT 1"))
    assert counted("elevate_database_errors_total", backend=db.dialect) == before + 1


async def test_publishing_while_redis_is_unreachable_counts_a_bus_error() -> None:
    # Nothing listens on port 1: every publish fails, is counted, and is delivered locally.
    bus = RedisBus("redis://127.0.0.1:1/0")
    before = counted("elevate_bus_errors_total", operation="publish")
    try:
        await bus.publish("room", {"type": "ping"})
    finally:
        await bus.close()
    assert counted("elevate_bus_errors_total", operation="publish") == before + 1


async def test_tool_calls_are_counted_by_tool_and_outcome(
    db: Database, redis_url: str | None
) -> None:
    settings = offline_settings()
    before = {
        key: counted("elevate_tool_calls_total", tool=key[0], outcome=key[1])
        for key in [("remember", "ok"), ("remember", "error")]
    }
    started = counted("elevate_turns_started_total", kind="trigger")
    async with open_world(db, redis_url, runner=real_runner(db, settings), settings=settings) as w:
        ann = await add_user(db, "Ann")
        keeper = await add_agent(db, "keeper", model="offline:default")
        await grant(db, keeper, "remember")
        room = await add_room(db, ann, agents=[keeper])
        for text_ in ("remember the gate code", '/tool remember {"content": 5}'):
            await w.post(room, ann, text_)
            await w.idle(room)
    grown = {
        key: counted("elevate_tool_calls_total", tool=key[0], outcome=key[1]) - value
        for key, value in before.items()
    }
    assert grown == {("remember", "ok"): 1, ("remember", "error"): 1}
    assert counted("elevate_turns_started_total", kind="trigger") == started + 2


def test_a_tool_name_the_model_made_up_is_counted_as_unknown() -> None:
    before = counted("elevate_tool_calls_total", tool="_unknown", outcome="refused")
    made_up = ToolOutcome("x" * 60, "c1", "refused", error="no such tool", code=UNKNOWN_TOOL)
    turn_observer.tool_called(made_up.tool, made_up, None)
    assert counted("elevate_tool_calls_total", tool="_unknown", outcome="refused") == before + 1
    assert counted("elevate_tool_calls_total", tool="x" * 60, outcome="refused") == 0


def test_the_grafana_dashboard_queries_only_metrics_that_exist() -> None:
    import json
    import re
    from pathlib import Path

    path = Path(__file__).parents[2] / "deploy" / "grafana" / "elevate.json"
    dashboard = json.loads(path.read_text())
    queried = {
        re.sub(r"_(bucket|total)$", "", name)
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"elevate_[a-z_]+", target["expr"])
    }
    known = {metric.name for metric in metrics.REGISTRY.collect()}
    assert queried and queried <= known, queried - known
