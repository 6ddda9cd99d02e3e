"""The A/B comparison of DESIGN section 11, computed with statsmodels and scipy.

Each variant is compared with the control by a two-proportion z-test (pooled standard error,
`statsmodels.stats.proportion.proportions_ztest`), a 95% Wald interval of the difference of
rates (unpooled, `confint_proportions_2indep(method="wald")`), and, as a reading that may be
looked at any time, the Bayesian probability that the variant's rate beats the control's under
uniform Beta(1, 1) priors (`scipy.stats.beta`, integrated numerically).
"""

from __future__ import annotations

import importlib
import math
from typing import Any

ALPHA = 0.05
MIN_OUTCOMES = 5  # conversions and non-conversions each side, for the normal approximation


def warm() -> None:
    """Import the statistics libraries ahead of the first A/B request (seconds on a cold disk)."""
    for module in ("scipy.integrate", "scipy.stats", "statsmodels.stats.proportion"):
        importlib.import_module(module)


def _rate(conversions: int, exposures: int) -> float | None:
    return conversions / exposures if exposures else None


def enough_data(conversions: int, exposures: int) -> bool:
    return conversions >= MIN_OUTCOMES and exposures - conversions >= MIN_OUTCOMES


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def z_test(c1: int, n1: int, c0: int, n0: int) -> tuple[float | None, float | None]:
    """z and two-sided p of variant (c1/n1) against control (c0/n0), pooled standard error."""
    from statsmodels.stats.proportion import proportions_ztest

    if not n1 or not n0 or c1 + c0 in (0, n1 + n0):
        return None, None  # no variance: the test is undefined
    z, p = proportions_ztest([c1, c0], [n1, n0], alternative="two-sided")
    return _finite(z), _finite(p)


def diff_interval(c1: int, n1: int, c0: int, n0: int) -> tuple[float | None, float | None]:
    """95% Wald interval of rate1 - rate0 (unpooled standard error)."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    if not n1 or not n0:
        return None, None
    low, high = confint_proportions_2indep(
        c1, n1, c0, n0, method="wald", compare="diff", alpha=ALPHA
    )
    return _finite(low), _finite(high)


def prob_beats_control(c1: int, n1: int, c0: int, n0: int) -> float | None:
    """P(rate1 > rate0) with Beta(1 + c, 1 + n - c) posteriors: the integral of the variant's
    density times the control's distribution function."""
    from scipy import integrate, stats

    if not n1 or not n0:
        return None
    variant, control = stats.beta(1 + c1, 1 + n1 - c1), stats.beta(1 + c0, 1 + n0 - c0)
    points = sorted({variant.mean(), control.mean()})
    value, _ = integrate.quad(
        lambda x: variant.pdf(x) * control.cdf(x), 0, 1, points=points, limit=200
    )
    return min(1.0, max(0.0, value))


def compare(rows: list[Any]) -> dict[str, Any]:
    """{control, variants: [...], verdict} for variant rows (first = control)."""
    if not rows:
        return {"control": None, "variants": [], "verdict": "No results recorded yet."}
    control = rows[0]
    c0, n0 = int(control.conversions or 0), int(control.exposures or 0)
    variants = [_public(control, None)]
    for row in rows[1:]:
        variants.append(_public(row, _comparison(row, c0, n0)))
    return {"control": control.variant, "variants": variants, "verdict": verdict(variants)}


def _public(row: Any, comparison: dict[str, Any] | None) -> dict[str, Any]:
    c, n = int(row.conversions or 0), int(row.exposures or 0)
    empty = dict.fromkeys(
        ("lift", "z", "p_value", "ci_low", "ci_high", "significant", "prob_beat_control")
    )
    return {
        "variant": row.variant,
        "metric": row.metric,
        "exposures": n,
        "conversions": c,
        "rate": _rate(c, n),
        **(comparison or empty),
        "enough_data": enough_data(c, n),
    }


def _comparison(row: Any, c0: int, n0: int) -> dict[str, Any]:
    c1, n1 = int(row.conversions or 0), int(row.exposures or 0)
    rate1, rate0 = _rate(c1, n1), _rate(c0, n0)
    z, p = z_test(c1, n1, c0, n0)
    low, high = diff_interval(c1, n1, c0, n0)
    sure = enough_data(c1, n1) and enough_data(c0, n0)
    return {
        "lift": rate1 / rate0 - 1 if rate1 is not None and rate0 else None,
        "z": z,
        "p_value": p,
        "ci_low": low,
        "ci_high": high,
        "significant": (p < ALPHA) if sure and p is not None else None,
        "prob_beat_control": prob_beats_control(c1, n1, c0, n0),
    }


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def verdict(variants: list[dict[str, Any]]) -> str:
    """One plain sentence about the test as a whole."""
    control, others = variants[0], variants[1:]
    if not others:
        return f"Only the control ({control['variant']}) so far: record another variant to compare."
    thin = [v["variant"] for v in others if v["significant"] is None]
    if thin:
        return (
            f"Not enough data yet to compare {', '.join(thin)} with {control['variant']}: each "
            f"needs at least {MIN_OUTCOMES} conversions and {MIN_OUTCOMES} non-conversions."
        )
    winners = [v for v in others if v["significant"] and (v["lift"] or 0) > 0]
    losers = [v for v in others if v["significant"] and (v["lift"] or 0) < 0]
    if winners:
        best = max(winners, key=lambda v: v["rate"] or 0)
        return (
            f"{best['variant']} beats {control['variant']}: {_pct(best['rate'])} against "
            f"{_pct(control['rate'])} (lift {best['lift'] * 100:+.1f}%, p = {best['p_value']:.3g})."
        )
    if losers:
        worst = min(losers, key=lambda v: v["rate"] or 0)
        return (
            f"{worst['variant']} does worse than {control['variant']}: {_pct(worst['rate'])} "
            f"against {_pct(control['rate'])} (p = {worst['p_value']:.3g}); "
            f"keep {control['variant']}."
        )
    p_values = ", ".join(f"{v['variant']} p = {v['p_value']:.3g}" for v in others)
    return (
        f"No significant difference from {control['variant']} ({p_values}). Decide at the "
        "sample size you planned, not by peeking."
    )
