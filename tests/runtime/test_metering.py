"""Metering in the conversation runtime: a turn's tokens and server-side cost from what the
model reported (the real OpenAI client, streamed usage with cached tokens), delegated turns
billed to the person who asked, and daily budgets that stop the next turn with
`budget_exceeded` until the next UTC day (the meter's clock is moved, not waited for)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from runtime.metering import BudgetExceeded, UsageMeter
from store.budgets import Budgets
from store.db import Database
from store.models import User
from store.usage import LedgerScope, cost_report
from store.usage import record as record_usage
from tests.runtime.group_harness import (
    Recorder,
    Say,
    World,
    add_agent,
    add_room,
    add_user,
    fast_settings,
    grant,
    of_type,
    open_world,
    real_runner,
    record,
)
from tests.support.openai_server import OpenAIServer, ScriptedCompletion

MORNING = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


class Clock:
    """The meter's `now`, moved by the test."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    script = [
        ScriptedCompletion("Checking. ", tool_calls=[("remember", {"content": "likes tea"})]),
        ScriptedCompletion("Noted: tea.", prompt_tokens=30, completion_tokens=5, cached_tokens=20),
    ]
    with OpenAIServer(script) as running:
        yield running


async def test_a_turns_streamed_usage_is_priced_recorded_and_announced(
    db: Database, redis_url: str | None, server: OpenAIServer
) -> None:
    settings = fast_settings(openai_api_key=SecretStr("k"), openai_base_url=server.base_url)
    runner = real_runner(db, settings)
    async with open_world(db, redis_url, runner=runner, settings=settings) as w:
        w.runtime.meter.now = Clock(MORNING)
        ann = await add_user(db, "Ann")
        alpha = await add_agent(db, "alpha", model="openai:gpt-4o-mini")
        await grant(db, alpha, "remember")
        room = await add_room(db, ann, agents=[alpha])
        async with record(w.bus, room) as recorder:
            await w.post(room, ann, "remember that I like tea")
            frames = await recorder.turn_ends(1)

    assert all(r["stream_options"] == {"include_usage": True} for r in server.requests)
    (end,) = of_type(frames, "turn.end")
    assert end["status"] == "completed", end
    # Two model calls: 11 + 30 prompt tokens (20 of them cached), 7 + 5 completion tokens.
    expected_cost = (21 * 0.15 + 20 * 0.075 + 12 * 0.60) / 1_000_000  # gpt-4o-mini's prices
    usage = end["usage"]
    assert (usage["input_tokens"], usage["output_tokens"], usage["cached_tokens"]) == (41, 12, 20)
    assert usage["priced"] is True and usage["cost"] == pytest.approx(expected_cost)
    reply = of_type(frames, "message")[-1]["message"]
    assert reply["meta"]["usage"] == usage

    report = await cost_report(db, LedgerScope("2026-03-01", "2026-03-01", ann.id))
    (day,) = report["days"]
    assert (day["day"], day["turns"], day["input_tokens"], day["cached_tokens"]) == (
        "2026-03-01",
        1,
        41,
        20,
    )
    assert day["cost"] == pytest.approx(expected_cost)
    (agent,) = report["agents"]
    assert (agent["agent_id"], agent["output_tokens"]) == (alpha.id, 12)
    (model,) = report["models"]
    assert (model["model"], model["priced"]) == ("openai:gpt-4o-mini", True)


async def test_a_delegated_turn_is_billed_to_the_person_who_asked(
    db: Database, redis_url: str | None
) -> None:
    async with open_world(db, redis_url) as w:
        w.runtime.meter.now = Clock(MORNING)
        ann = await add_user(db, "Ann")
        beta = await add_agent(db, "beta")
        alpha = await add_agent(db, "alpha", delegates_to=[beta.id])
        room = await add_room(db, ann, agents=[alpha])
        w.runner.script(alpha, Say("Asked beta.", delegate=("beta", "count to three")))
        w.runner.script(beta, "one two three")
        async with record(w.bus, room) as recorder:
            await w.post(room, ann, "@alpha please ask beta")
            ends = await recorder.turn_ends(2)

    assert w.runner.answers == ["one two three"]
    by_turn = {e["turn_id"]: e for e in of_type(ends, "turn.end")}
    starts = {s["agent"]["handle"]: s for s in of_type(ends, "turn.start")}
    nested = by_turn[starts["beta"]["turn_id"]]
    assert nested["parent_turn_id"] == starts["alpha"]["turn_id"]
    assert (nested["usage"]["input_tokens"], nested["usage"]["output_tokens"]) == (10, 3)
    report = await cost_report(db, LedgerScope("2026-03-01", "2026-03-01", ann.id))
    tokens = {a["agent_id"]: (a["turns"], a["output_tokens"]) for a in report["agents"]}
    assert tokens == {alpha.id: (1, 2), beta.id: (1, 3)}
    assert report["totals"]["input_tokens"] == 20
    # An unpriced model is reported as such, never given a guessed price.
    assert report["totals"]["unpriced_models"] == ["scripted:test"]


async def _say(
    w: World, room: str, user: User, text: str, recorder: Recorder, count: int
) -> dict[str, Any]:
    """Post `text` and return the turn.end that makes `count` of them."""
    await w.post(room, user, text)
    frames = await recorder.turn_ends(count)
    return of_type(frames, "turn.end")[-1]


async def test_a_persons_budget_stops_the_next_turn_until_the_next_utc_day(
    db: Database, redis_url: str | None
) -> None:
    clock = Clock(MORNING)
    settings = fast_settings(daily_token_budget_per_user=25)
    async with open_world(db, redis_url, settings=settings) as w:
        w.runtime.meter.now = clock
        ann, bob = await add_user(db, "Ann"), await add_user(db, "Bob")
        alpha = await add_agent(db, "alpha")
        room = await add_room(db, ann, agents=[alpha])
        bobs_room = await add_room(db, bob, agents=[alpha])
        w.runner.always(alpha, lambda request: "one two three four five")
        async with record(w.bus, room) as recorder:
            # 15 tokens a turn (10 in, 5 out): the second turn starts at 15 < 25 and ends at 30.
            assert (await _say(w, room, ann, "first", recorder, 1))["status"] == "completed"
            assert (await _say(w, room, ann, "second", recorder, 2))["status"] == "completed"
            asked = len(w.runner.requests)
            refused = await _say(w, room, ann, "third", recorder, 3)
            assert len(w.runner.requests) == asked, "the model must not run past the budget"
            assert (refused["status"], refused["code"]) == ("failed", "budget_exceeded")
            assert "30 of 25 tokens on 2026-03-01" in refused["error"]
            assert refused["usage"]["input_tokens"] == 0
            stored = (await w.transcript(room))[-1]
            assert stored.status == "failed" and stored.meta["error_code"] == "budget_exceeded"

            async with record(w.bus, bobs_room) as bobs:
                # Another person's budget is their own.
                assert (await _say(w, bobs_room, bob, "hi", bobs, 1))["status"] == "completed"

            clock.at = MORNING + timedelta(hours=14, minutes=59, seconds=59)  # 23:59:59 UTC
            late = await _say(w, room, ann, "still today", recorder, 4)
            assert late["code"] == "budget_exceeded"
            clock.at = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
            assert (await _say(w, room, ann, "a new day", recorder, 5))["status"] == "completed"

    days = await cost_report(db, LedgerScope("2026-03-01", "2026-03-02", ann.id))
    assert [(d["day"], d["turns"]) for d in days["days"]] == [("2026-03-01", 2), ("2026-03-02", 1)]


async def test_an_agents_override_stops_it_and_a_delegation_to_it_fails_as_a_tool_error(
    db: Database, redis_url: str | None
) -> None:
    settings = fast_settings(daily_token_budget_per_agent=1000)
    async with open_world(db, redis_url, settings=settings) as w:
        w.runtime.meter.now = Clock(MORNING)
        ann = await add_user(db, "Ann")
        beta = await add_agent(db, "beta")
        alpha = await add_agent(db, "alpha", delegates_to=[beta.id])
        room = await add_room(db, ann, agents=[alpha, beta])
        # An override replaces the default for this agent only.
        await Budgets(db).set("agent", beta.id, 10, by=ann.id)
        w.runner.script(beta, "first answer")
        w.runner.script(alpha, Say("Let me ask.", delegate=("beta", "again")))
        async with record(w.bus, room) as recorder:
            assert (await _say(w, room, ann, "@beta hello", recorder, 1))["status"] == "completed"
            await w.post(room, ann, "@alpha ask beta")
            frames = await recorder.turn_ends(3)
        ends = of_type(frames, "turn.end")
        assert [e.get("code") for e in ends[1:]] == ["budget_exceeded", None]
        assert ends[-1]["status"] == "completed"
        (answer,) = w.runner.answers
        assert "DelegationRefused" in answer and "this agent's daily token budget" in answer
        await Budgets(db).set("agent", beta.id, 0, by=ann.id)  # 0: no limit
        w.runner.script(beta, "free again")
        async with record(w.bus, room) as recorder:
            assert (await _say(w, room, ann, "@beta now?", recorder, 1))["status"] == "completed"


async def test_the_meter_reports_todays_standing(db: Database) -> None:
    ann = await add_user(db, "Ann")
    meter = UsageMeter(db, fast_settings(daily_token_budget_per_user=100), now=Clock(MORNING))
    await record_usage(
        db, **meter.ledger_fields("offline:default", {"input_tokens": 60, "output_tokens": 50},
                                  source="turn", user_id=ann.id)
    )  # fmt: skip
    status = await meter.status(user_id=ann.id)
    assert status["day"] == "2026-03-01" and status["resets_at"] == "2026-03-02T00:00:00+00:00"
    assert status["user"] == {
        "used": 110, "limit": 100, "remaining": 0, "exceeded": True, "override": False
    }  # fmt: skip
    with pytest.raises(BudgetExceeded) as refused:
        await meter.check(user_id=ann.id, agent_id=None)
    assert refused.value.details()["scope"] == "user"
