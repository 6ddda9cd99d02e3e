"""The funnel metrics of a snapshot: which phase and step each belongs to, which are rates, which
are costs (better lower), and the course's default targets.

Everything KPI-related names metrics by the snapshot's column names (`hook_avg_ctr`...), so this
is the one list to change when the seed gains a metric.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from store.enums import ElevateStep

DEFAULT_TARGETS_FILE = Path(__file__).parent / "data" / "kpi_targets.json"

PHASES: dict[str, tuple[str, ...]] = {
    "attract": ("hook_avg_ctr", "gift_opt_in_rate", "gift_cpl", "attract_leads_total"),
    "convert": (
        "engage_assisted_conversion_rate",
        "sell_conversion_rate",
        "sell_aov_initial",
        "nurture_email_conv_rate",
        "nurture_retargeting_roas",
        "convert_total_sales",
        "convert_cpa",
    ),
    "grow": (
        "upsell_take_rate",
        "upsell_aov_final",
        "educate_repeat_purchase_rate",
        "educate_csat_nps",
        "share_review_rate",
        "grow_cltv_estimate",
    ),
    "overall": ("overall_roi",),
}
METRICS: tuple[str, ...] = tuple(m for metrics in PHASES.values() for m in metrics)

# Lower is better: the weakest-step gap is measured the other way round.
COST_METRICS = frozenset({"gift_cpl", "convert_cpa"})

# Fractions from 0 to 1 (0.021, not 2.1).
RATE_METRICS = frozenset(m for m in METRICS if m.endswith(("_rate", "_ctr")))

# Money and counts: never negative. ROI may be (a loss).
NON_NEGATIVE = frozenset(METRICS) - {"overall_roi"}

LABELS = {
    "hook_avg_ctr": "Hook CTR",
    "gift_opt_in_rate": "Gift opt-in rate",
    "gift_cpl": "Cost per lead",
    "attract_leads_total": "Leads",
    "engage_assisted_conversion_rate": "Assisted conversion",
    "sell_conversion_rate": "Sell conversion",
    "sell_aov_initial": "AOV before upsell",
    "nurture_email_conv_rate": "Nurture email conversion",
    "nurture_retargeting_roas": "Retargeting ROAS",
    "convert_total_sales": "Sales",
    "convert_cpa": "Cost per acquisition",
    "upsell_take_rate": "Upsell take rate",
    "upsell_aov_final": "AOV after upsell",
    "educate_repeat_purchase_rate": "Repeat purchase rate",
    "educate_csat_nps": "CSAT/NPS",
    "share_review_rate": "Review rate",
    "grow_cltv_estimate": "CLTV",
    "overall_roi": "ROI",
}

FUNNEL_STEPS: tuple[str, ...] = tuple(s.value for s in ElevateStep if s != ElevateStep.FOUNDATION)
_STEP_BY_PREFIX = {step.lower(): step for step in FUNNEL_STEPS}


def step_of(metric: str) -> str | None:
    """The Elevate step a metric belongs to, from its name's prefix (`hook_` -> Hook)."""
    return _STEP_BY_PREFIX.get(metric.split("_", 1)[0])


def step_metrics(step: str) -> tuple[str, ...]:
    """The metrics of one step, in seed order (none for Identify and Foundation)."""
    return tuple(m for m in METRICS if step_of(m) == step)


@cache
def default_targets() -> dict[str, float]:
    """The course's shipped default targets, keyed by metric."""
    raw = json.loads(DEFAULT_TARGETS_FILE.read_text(encoding="utf-8"))
    return {k: float(v) for k, v in raw.items() if k in METRICS}


def metric_problem(metric: str, value: float) -> str | None:
    """Why `value` cannot be `metric`'s value, or None when it can."""
    if metric in RATE_METRICS and not 0 <= value <= 1:
        return "a rate is a fraction from 0 to 1 (0.021 or 2.1%, not 2.1)"
    if metric in NON_NEGATIVE and value < 0:
        return "must not be negative"
    return None
