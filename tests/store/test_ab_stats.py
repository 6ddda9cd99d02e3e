"""The A/B comparison against the statistics libraries and against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from store.ab_stats import compare
from store.analytics import AbTests
from store.db import Database
from tests.store import factories


def _hand_z(c1: int, n1: int, c0: int, n0: int) -> tuple[float, float, float, float]:
    """z, two-sided p (pooled SE) and the 95% interval of the difference (unpooled SE)."""
    p1, p0, pooled = c1 / n1, c0 / n0, (c1 + c0) / (n1 + n0)
    z = (p1 - p0) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    q = norm.ppf(0.975)
    return z, 2 * norm.sf(abs(z)), p1 - p0 - q * se, p1 - p0 + q * se


async def test_z_test_matches_the_library_and_the_textbook(db: Database) -> None:
    ada = await factories.user(db)
    tests = AbTests(db)
    await tests.record(ada.id, "headline", "A", 1000, 100)
    await tests.record(ada.id, "headline", "B", 1000, 130)
    body = compare(await tests.for_test(ada.id, "headline"))
    assert body["control"] == "A"
    control, variant = body["variants"]
    assert control["variant"] == "A" and control["z"] is None and control["lift"] is None
    z, p, low, high = _hand_z(130, 1000, 100, 1000)
    # Worked by hand: pooled rate 0.115, SE 0.014267, z = 0.03 / 0.014267 = 2.1027.
    assert variant["z"] == pytest.approx(2.1027, abs=1e-4) and variant["z"] == pytest.approx(z)
    assert variant["p_value"] == pytest.approx(0.03549, abs=1e-4)
    assert variant["p_value"] == pytest.approx(p)
    library_z, library_p = proportions_ztest([130, 100], [1000, 1000])
    assert (variant["z"], variant["p_value"]) == pytest.approx((library_z, library_p))
    assert (variant["ci_low"], variant["ci_high"]) == pytest.approx((low, high))
    assert (variant["ci_low"], variant["ci_high"]) == pytest.approx((0.002068, 0.057932), abs=1e-5)
    assert (variant["ci_low"], variant["ci_high"]) == pytest.approx(
        confint_proportions_2indep(130, 1000, 100, 1000, method="wald", compare="diff")
    )
    assert variant["rate"] == 0.13 and variant["lift"] == pytest.approx(0.3)
    assert variant["significant"] is True
    draws = np.random.default_rng(7)
    b, a = draws.beta(131, 871, 200_000), draws.beta(101, 901, 200_000)
    assert variant["prob_beat_control"] == pytest.approx(float(np.mean(b > a)), abs=0.005)
    assert body["verdict"].startswith("B beats A: 13.0% against 10.0% (lift +30.0%")


async def test_no_difference_and_a_worse_variant(db: Database) -> None:
    ada = await factories.user(db)
    tests = AbTests(db)
    await tests.record(ada.id, "price", "A", 500, 50)
    await tests.record(ada.id, "price", "B", 500, 55)
    body = compare(await tests.for_test(ada.id, "price"))
    assert body["variants"][1]["significant"] is False
    assert body["verdict"].startswith("No significant difference from A")
    await tests.record(ada.id, "price", "B", 500, 20)  # replaces B's result
    body = compare(await tests.for_test(ada.id, "price"))
    assert [v["variant"] for v in body["variants"]] == ["A", "B"]
    assert body["variants"][1]["significant"] is True
    assert body["verdict"].startswith("B does worse than A")


async def test_not_enough_data_below_five_conversions_or_non_conversions(db: Database) -> None:
    ada = await factories.user(db)
    tests = AbTests(db)
    await tests.record(ada.id, "cta", "A", 100, 4)  # 4 conversions: below the threshold
    await tests.record(ada.id, "cta", "B", 100, 20)
    body = compare(await tests.for_test(ada.id, "cta"))
    variant = body["variants"][1]
    assert variant["significant"] is None
    assert variant["z"] == pytest.approx(proportions_ztest([20, 4], [100, 100])[0])
    assert variant["p_value"] is not None
    assert body["verdict"].startswith("Not enough data")
    await tests.record(ada.id, "cta", "A", 100, 5)
    await tests.record(ada.id, "cta", "B", 100, 96)  # 4 non-conversions
    assert compare(await tests.for_test(ada.id, "cta"))["variants"][1]["significant"] is None
    await tests.record(ada.id, "cta", "B", 100, 95)  # exactly 5 of each: enough
    assert compare(await tests.for_test(ada.id, "cta"))["variants"][1]["significant"] is True


async def test_one_variant_and_no_conversions_at_all(db: Database) -> None:
    ada = await factories.user(db)
    tests = AbTests(db)
    await tests.record(ada.id, "solo", "A", 10, 0)
    assert "Only the control" in compare(await tests.for_test(ada.id, "solo"))["verdict"]
    await tests.record(ada.id, "solo", "B", 10, 0)
    variant = compare(await tests.for_test(ada.id, "solo"))["variants"][1]
    assert variant["z"] is None and variant["p_value"] is None and variant["lift"] is None
