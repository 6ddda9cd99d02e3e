"""The usage ledger: per day, agent, person, conversation and model, in SQL on the suite's
backend; a day's use against budget overrides; the overrides themselves."""

from __future__ import annotations

import pytest

from store.budgets import Budgets
from store.conversations import Conversations
from store.db import Database
from store.errors import InvalidValue
from store.usage import LedgerScope, agents_owned_by, cost_report, day_use, record
from tests.store import factories


async def _world(db: Database) -> dict[str, str]:
    ann, bob = await factories.user(db, "Ann"), await factories.user(db, "Bob")
    alpha = await factories.agent(db, "Alpha", created_by=ann.id)
    beta = await factories.agent(db, "Beta")
    room = await Conversations(db).create("Room", ann.id)
    ids = {"ann": ann.id, "bob": bob.id, "alpha": alpha.id, "beta": beta.id, "room": room.id}
    rows = [
        # day, user, agent, model, input, output, cached, cost, priced
        ("2026-03-01", "ann", "alpha", "openai:gpt-4o-mini", 100, 10, 40, 0.25, True),
        ("2026-03-01", "ann", "beta", "openai:gpt-4o-mini", 50, 5, 0, 0.5, True),
        ("2026-03-01", "bob", "alpha", "vllm:llama", 7, 3, 0, 0.0, False),
        ("2026-03-02", "ann", "alpha", "openai:gpt-4o-mini", 20, 2, 0, 1.0, True),
        ("2026-03-05", "bob", "beta", "openai:gpt-4o-mini", 1000, 100, 0, 2.0, True),
    ]
    for day, who, agent, model, i, o, c, cost, priced in rows:
        await record(
            db,
            day=day,
            source="turn",
            user_id=ids[who],
            agent_id=ids[agent],
            conversation_id=room.id,
            model=model,
            input_tokens=i,
            output_tokens=o,
            cached_tokens=c,
            cost=cost,
            priced=priced,
        )
    await record(
        db, day="2026-03-01", source="playbook", user_id=ids["ann"], agent_id=ids["beta"],
        model="offline:default", input_tokens=5, output_tokens=5, cost=0.0, priced=True,
    )  # fmt: skip
    return ids


async def test_a_persons_usage_per_day_and_agent(db: Database) -> None:
    ids = await _world(db)
    report = await cost_report(db, LedgerScope("2026-03-01", "2026-03-02", ids["ann"]))
    by_day = {d["day"]: d for d in report["days"]}
    assert set(by_day) == {"2026-03-01", "2026-03-02"}
    first = by_day["2026-03-01"]
    assert (first["runs"], first["turns"]) == (3, 2)
    assert (first["input_tokens"], first["output_tokens"], first["cached_tokens"]) == (155, 20, 40)
    assert first["cost"] == pytest.approx(0.75)
    agents = {a["agent_id"]: a for a in report["agents"]}
    assert agents[ids["alpha"]]["input_tokens"] == 120 and agents[ids["alpha"]]["name"] == "Alpha"
    assert agents[ids["alpha"]]["cost"] == pytest.approx(1.25)
    assert [a["agent_id"] for a in report["agents"]] == [ids["alpha"], ids["beta"]]
    assert [u["user_id"] for u in report["users"]] == [ids["ann"]]
    assert report["totals"]["cost"] == pytest.approx(1.75)
    assert report["totals"]["unpriced_models"] == []
    per_agent_day = {(r["day"], r["agent_id"]): r["output_tokens"] for r in report["agent_days"]}
    assert per_agent_day == {
        ("2026-03-01", ids["alpha"]): 10,
        ("2026-03-01", ids["beta"]): 10,
        ("2026-03-02", ids["alpha"]): 2,
    }


async def test_an_agents_usage_across_people_flags_unpriced_models(db: Database) -> None:
    ids = await _world(db)
    report = await cost_report(
        db, LedgerScope("2026-03-01", "2026-03-31", agent_ids=(ids["alpha"],))
    )
    assert {u["user_id"]: u["input_tokens"] for u in report["users"]} == {
        ids["ann"]: 120,
        ids["bob"]: 7,
    }
    assert report["totals"]["unpriced_models"] == ["vllm:llama"]
    models = {(m["model"], m["priced"]): m["runs"] for m in report["models"]}
    assert models == {("openai:gpt-4o-mini", True): 2, ("vllm:llama", False): 1}
    assert report["conversations"][0]["conversation_id"] == ids["room"]


async def test_the_day_range_is_inclusive_and_an_empty_scope_reads_zero(db: Database) -> None:
    ids = await _world(db)
    everyone = await cost_report(db, LedgerScope("2026-03-02", "2026-03-05"))
    assert [d["day"] for d in everyone["days"]] == ["2026-03-02", "2026-03-05"]
    nobody = await cost_report(db, LedgerScope("2026-03-01", "2026-03-31", agent_ids=()))
    assert nobody["days"] == [] and nobody["totals"]["runs"] == 0
    assert nobody["totals"]["cost"] == 0.0
    assert (await cost_report(db, LedgerScope("2026-04-01", "2026-04-30", ids["ann"])))["totals"][
        "input_tokens"
    ] == 0


async def test_a_days_use_and_the_overrides_in_one_read(db: Database) -> None:
    ids = await _world(db)
    use = await day_use(db, "2026-03-01", user_id=ids["ann"], agent_id=ids["alpha"])
    # Ann: 110 + 55 + 10 (playbook); Alpha: 110 (Ann) + 10 (Bob).
    assert (use.user_tokens, use.agent_tokens) == (175, 120)
    assert (use.user_budget, use.agent_budget) == (None, None)
    budgets = Budgets(db)
    await budgets.set("user", ids["ann"], 500, by=ids["bob"])
    await budgets.set("agent", ids["alpha"], 0, by=ids["ann"])
    await budgets.set("user", ids["ann"], 900, by=ids["bob"])
    use = await day_use(db, "2026-03-01", user_id=ids["ann"], agent_id=ids["alpha"])
    assert (use.user_budget, use.agent_budget) == (900, 0)
    assert await budgets.clear("agent", ids["alpha"]) is True
    assert await budgets.clear("agent", ids["alpha"]) is False
    assert await budgets.get("agent", ids["alpha"]) is None
    other_day = await day_use(db, "2026-03-03", user_id=ids["ann"], agent_id=ids["alpha"])
    assert (other_day.user_tokens, other_day.agent_tokens) == (0, 0)


async def test_bad_budget_values_are_refused(db: Database) -> None:
    ids = await _world(db)
    with pytest.raises(InvalidValue, match="daily_tokens"):
        await Budgets(db).set("user", ids["ann"], -1, by=None)
    with pytest.raises(InvalidValue, match="subject"):
        await Budgets(db).set("group", ids["ann"], 5, by=None)


async def test_agents_owned_by_lists_only_that_persons_user_agents(db: Database) -> None:
    ids = await _world(db)
    assert await agents_owned_by(db, ids["ann"]) == (ids["alpha"],)
    assert await agents_owned_by(db, ids["bob"]) == ()
