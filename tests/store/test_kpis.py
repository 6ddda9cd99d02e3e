"""DESIGN section 11's formulas, on hand-computed numbers, on the suite's database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from store.db import Database
from store.errors import InvalidValue
from store.kpis import Snapshots, Targets, change, summary

MAY, JUNE = datetime(2024, 5, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC)


def test_change_is_relative_and_null_without_a_base() -> None:
    assert change(0.014, 0.021) == pytest.approx(-1 / 3)
    assert change(5, None) is None and change(5, 0) is None and change(None, 2) is None


async def test_summary_phases_derived_and_weakest_step(db: Database) -> None:
    from tests.store import factories

    ada = await factories.user(db)
    snapshots = Snapshots(db)
    await snapshots.add(
        ada.id, snapshot_date=MAY, hook_avg_ctr=0.021, gift_cpl=4.0, convert_total_sales=0
    )
    await snapshots.add(
        ada.id,
        snapshot_date=JUNE,
        hook_avg_ctr=0.014,  # target 0.02: gap (0.02 - 0.014) / 0.02 = 0.3
        gift_cpl=6.0,  # a cost, target 5: gap (6 - 5) / 5 = 0.2
        sell_conversion_rate=0.03,  # exactly on target: gap 0
        sell_aov_initial=50.0,
        upsell_aov_final=62.5,  # uplift (62.5 - 50) / 50 = 0.25; target 65: gap 0.038
        grow_cltv_estimate=300.0,
        convert_cpa=60.0,  # LTV:CAC 300 / 60 = 5
        attract_leads_total=400,
        convert_total_sales=20,  # lead-to-sale 20 / 400 = 0.05; change from 0: null
        overall_roi=1.5,
    )
    body = await summary(db, ada.id)
    hook = body["attract"]["hook_avg_ctr"]
    assert hook["value"] == 0.014 and hook["previous"] == 0.021 and hook["target"] == 0.02
    assert hook["change"] == pytest.approx(-1 / 3)
    assert body["attract"]["gift_cpl"]["change"] == pytest.approx(0.5)
    assert body["convert"]["convert_total_sales"]["change"] is None
    assert body["overall"] == {
        "overall_roi": {"value": 1.5, "previous": None, "change": None, "target": 2.0}
    }
    assert set(body["grow"]) == {
        "upsell_take_rate",
        "upsell_aov_final",
        "educate_repeat_purchase_rate",
        "educate_csat_nps",
        "share_review_rate",
        "grow_cltv_estimate",
    }
    derived = body["derived"]
    assert derived["aov_uplift"]["value"] == pytest.approx(0.25)
    assert derived["ltv_to_cac"]["value"] == pytest.approx(5.0)
    assert derived["lead_to_sale"]["value"] == pytest.approx(0.05)
    weakest = body["weakest_step"]
    assert weakest["step"] == "Hook" and weakest["metric"] == "hook_avg_ctr"
    assert weakest["gap"] == pytest.approx(0.3) and weakest["module_number"] == 1

    # Her own target for the CTR puts it above target: the cost per lead is now weakest.
    await Targets(db).set(ada.id, {"hook_avg_ctr": 0.01})
    weakest = (await summary(db, ada.id))["weakest_step"]
    assert (weakest["step"], weakest["metric"]) == ("Gift", "gift_cpl")
    assert weakest["gap"] == pytest.approx(0.2)
    # Reset to the course default (null), and with every step metric on target: no weakest.
    assert (await Targets(db).set(ada.id, {"hook_avg_ctr": None}))["hook_avg_ctr"] == 0.02
    await Targets(db).set(
        ada.id, {"hook_avg_ctr": 0.014, "gift_cpl": 6.0, "upsell_aov_final": 62.5}
    )
    assert (await summary(db, ada.id))["weakest_step"] is None


async def test_summary_filters_by_channel_campaign_and_period(db: Database) -> None:
    from tests.store import factories

    ada, bob = await factories.user(db), await factories.user(db, "Bob")
    snapshots = Snapshots(db)
    await snapshots.add(ada.id, snapshot_date=MAY, hook_avg_ctr=0.01, channel="ads")
    await snapshots.add(ada.id, snapshot_date=JUNE, hook_avg_ctr=0.05, channel="email")
    await snapshots.add(
        ada.id, snapshot_date=JUNE, hook_avg_ctr=0.02, channel="ads", campaign_id="c1"
    )
    await snapshots.add(bob.id, snapshot_date=JUNE + timedelta(days=1), hook_avg_ctr=0.9)
    ads = (await summary(db, ada.id, channel="ads"))["attract"]["hook_avg_ctr"]
    assert (ads["value"], ads["previous"], ads["change"]) == (0.02, 0.01, pytest.approx(1.0))
    await snapshots.add(ada.id, snapshot_date=MAY, hook_avg_ctr=0.03, experiment_id="x1")
    x1 = (await summary(db, ada.id, experiment_id="x1"))["attract"]["hook_avg_ctr"]
    assert (x1["value"], x1["previous"]) == (0.03, None)
    c1 = (await summary(db, ada.id, campaign_id="c1"))["attract"]["hook_avg_ctr"]
    assert (c1["value"], c1["previous"]) == (0.02, None)
    may = (await summary(db, ada.id, until=MAY, channel="ads"))["attract"]["hook_avg_ctr"]
    assert may["value"] == 0.01
    empty = await summary(db, ada.id, since=JUNE + timedelta(days=1))
    assert empty["attract"]["hook_avg_ctr"]["value"] is None and empty["weakest_step"] is None


async def test_targets_refuse_unknown_metrics_and_bad_rates(db: Database) -> None:
    from tests.store import factories

    ada = await factories.user(db)
    with pytest.raises(InvalidValue, match=r"kpi_targets\.hook_ctr"):
        await Targets(db).set(ada.id, {"hook_ctr": 0.1})
    with pytest.raises(InvalidValue, match="fraction"):
        await Targets(db).set(ada.id, {"hook_avg_ctr": 2.0})
    assert (await Targets(db).effective(ada.id))["hook_avg_ctr"] == 0.02
