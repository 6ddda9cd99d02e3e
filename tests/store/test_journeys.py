"""The closed funnel: counts, conversion, drop-off and median times, on hand-made journeys."""

from __future__ import annotations

import random
import statistics
from datetime import UTC, datetime, timedelta

import pytest

from store.analytics import Customers, JourneyEvents
from store.db import Database
from store.journeys import closed_funnel
from store.kpi_metrics import FUNNEL_STEPS
from tests.store import factories

T0 = datetime(2024, 5, 1, 9, tzinfo=UTC)
HOUR = timedelta(hours=1)


async def _journeys(db: Database) -> str:
    """c1: Hook, Gift (+1h), Sell (+3h), all by ads; c2 (vip): Hook, Gift (+3h); c3: Hook,
    Sell (no Gift); c4: Gift only. Another student's customer walks the whole funnel."""
    ada, bob = await factories.user(db), await factories.user(db, "Bob")
    customers, events = Customers(db), JourneyEvents(db)
    plan = {
        "c1": ("vip", [("Hook", 0), ("Gift", 1), ("Sell", 3), ("Hook", 5)]),
        "c2": ("vip", [("Hook", 0), ("Gift", 3)]),
        "c3": (None, [("Hook", 0), ("Sell", 2)]),
        "c4": (None, [("Gift", 0)]),
    }
    for name, (segment, steps) in plan.items():
        customer = await customers.create(ada.id, name=name, segment=segment)
        for step, hours in steps:
            channel = "ads" if name == "c1" else "email"
            await events.create(
                ada.id,
                customer_id=customer.id,
                step=step,
                channel=channel,
                timestamp=T0 + hours * HOUR,
            )
    other = await customers.create(bob.id, name="x")
    for step in ("Hook", "Gift", "Sell"):
        await events.create(bob.id, customer_id=other.id, step=step, timestamp=T0)
    return ada.id


async def test_closed_funnel_counts_conversion_drop_off_and_median(db: Database) -> None:
    ada = await _journeys(db)
    funnel = await closed_funnel(db, ada, ["Hook", "Gift", "Sell"])
    assert [(s["step"], s["customers"]) for s in funnel] == [("Hook", 3), ("Gift", 2), ("Sell", 1)]
    assert funnel[0]["conversion"] == 1 and funnel[0]["drop_off"] == 0
    assert funnel[1]["conversion"] == pytest.approx(2 / 3)
    assert funnel[1]["drop_off"] == pytest.approx(1 / 3)
    assert funnel[2]["conversion"] == pytest.approx(1 / 2)
    # Gift after Hook: c1 1h, c2 3h -> median 2h; Sell after Gift: c1 only, 2h.
    assert funnel[0]["median_seconds_from_previous"] is None
    assert funnel[1]["median_seconds_from_previous"] == pytest.approx(7200)
    assert funnel[2]["median_seconds_from_previous"] == pytest.approx(7200)


async def test_default_steps_and_a_step_nobody_reached(db: Database) -> None:
    ada = await _journeys(db)
    funnel = await closed_funnel(db, ada)
    assert [s["step"] for s in funnel] == [
        "Hook", "Gift", "Identify", "Engage", "Sell", "Nurture", "Upsell", "Educate", "Share"
    ]  # fmt: skip
    identify, engage = funnel[2], funnel[3]
    assert identify["customers"] == 0 and identify["conversion"] == 0
    assert engage["customers"] == 0 and engage["conversion"] is None
    assert engage["drop_off"] is None


async def test_funnel_by_segment_and_channel(db: Database) -> None:
    ada = await _journeys(db)
    vip = await closed_funnel(db, ada, ["Hook", "Gift", "Sell"], segment="vip")
    assert [s["customers"] for s in vip] == [2, 2, 1]
    ads = await closed_funnel(db, ada, ["Hook", "Gift", "Sell"], channel="ads")
    assert [s["customers"] for s in ads] == [1, 1, 1]
    email = await closed_funnel(db, ada, ["Hook", "Sell"], channel="email")
    assert [s["customers"] for s in email] == [2, 1]
    # c3 reached Sell 2h after Hook
    assert email[1]["median_seconds_from_previous"] == pytest.approx(7200)
    # Odd and even counts: Hook -> Gift over c1 (1h), c2 (3h) -> 2h
    assert (await closed_funnel(db, ada, ["Gift"]))[0]["customers"] == 3


async def test_an_earlier_event_moves_the_first_time_and_agrees_with_the_events(
    db: Database,
) -> None:
    ada = await _journeys(db)
    c3 = next(c for c in await Customers(db).list_for_user(ada) if c.name == "c3")
    # c3 had Hook at 0h and Sell at 2h; an email Gift at -1h does not make a Hook->Gift step...
    await JourneyEvents(db).create(
        ada, customer_id=c3.id, step="Gift", channel="email", timestamp=T0 - HOUR
    )
    rolled = await closed_funnel(db, ada, ["Hook", "Gift", "Sell"])
    assert [s["customers"] for s in rolled] == [3, 3, 2]
    # ...and its Gift came before its Hook, so only c1 (1h) and c2 (3h) time Hook -> Gift.
    assert rolled[1]["median_seconds_from_previous"] == pytest.approx(7200)
    # The rollup and the raw events give the same funnel (every event of c2, c3 is "email").
    email = await closed_funnel(db, ada, ["Hook", "Gift", "Sell"], channel="email")
    assert [s["customers"] for s in email] == [2, 2, 1]


def _expected_funnel(journeys: dict[str, dict[str, datetime]]) -> list[tuple[int, float | None]]:
    """Hand-computed from the definition: (customers, median seconds from previous) per step."""
    steps = list(FUNNEL_STEPS)
    result: list[tuple[int, float | None]] = []
    for k, step in enumerate(steps):
        reached = [j for j in journeys.values() if all(s in j for s in steps[: k + 1])]
        gaps = [
            (j[step] - j[steps[k - 1]]).total_seconds()
            for j in reached
            if k and j[step] >= j[steps[k - 1]]
        ]
        result.append((len(reached), statistics.median(gaps) if gaps else None))
    return result


async def test_the_whole_funnel_agrees_with_its_definition_on_random_journeys(
    db: Database,
) -> None:
    """The unfiltered Hook..Share funnel reads the rollup's depth and gap columns: on random
    journeys (odd and even counts, steps out of order, gaps in the walk) it gives what the
    definition gives, computed here by hand."""
    rng = random.Random(7)
    ada = (await factories.user(db)).id
    customers, events = Customers(db), JourneyEvents(db)
    journeys: dict[str, dict[str, datetime]] = {}
    for n in range(41):
        customer = await customers.create(ada, name=f"c{n}")
        firsts: dict[str, datetime] = {}
        for step in rng.sample(FUNNEL_STEPS, rng.randint(1, len(FUNNEL_STEPS))):
            for _ in range(rng.randint(1, 2)):
                at = T0 + timedelta(minutes=rng.randint(0, 5000))
                await events.create(ada, customer_id=customer.id, step=step, timestamp=at)
                firsts[step] = min(firsts.get(step, at), at)
        journeys[customer.id] = firsts
    funnel = await closed_funnel(db, ada)
    got = [(s["customers"], s["median_seconds_from_previous"]) for s in funnel]
    expected = _expected_funnel(journeys)
    assert [c for c, _ in got] == [c for c, _ in expected]
    for (_, median), (_, want) in zip(got, expected, strict=True):
        assert median == (None if want is None else pytest.approx(want))
    assert sum(1 for _, m in expected if m is not None) >= 3, "the data exercises medians"
