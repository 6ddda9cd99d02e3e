"""`read_step_kpis`: a step agent reads its step's funnel metrics, targets and trend.

Whose KPIs they are comes from the injected caller (`user_id`), never from the model; which
step is usually fixed by the grant (`fixed_args: {"step": "Hook"}`), so the Hook agent reads
Hook metrics, and can say "your CTR fell from 2.1% to 1.4%".
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from store.course import CourseWork
from store.kpi_metrics import LABELS, RATE_METRICS, step_metrics
from store.kpis import Snapshots, Targets, change, gap, module_number, weakest_step
from tools.context import Injected
from tools.errors import ToolError
from tools.registry import tool

Step = Literal[
    "Hook", "Gift", "Identify", "Engage", "Sell", "Nurture", "Upsell", "Educate", "Share"
]  # fmt: skip
MONEY = ("_cpl", "_cpa", "_aov_initial", "_aov_final", "_cltv_estimate")


def shown(metric: str, value: float | None) -> str:
    """A value as a person reads it: rates as percentages, money with two decimals."""
    if value is None:
        return "n/a"
    if metric in RATE_METRICS:
        return f"{value * 100:.1f}%"
    if metric.endswith(MONEY):
        return f"{value:,.2f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def sentence(metric: str, value: float | None, previous: float | None, target: float | None) -> str:
    label = LABELS.get(metric, metric)
    if value is None:
        return f"{label}: no value recorded yet."
    if previous is None or previous == value:
        moved = f"is {shown(metric, value)}" + (" (unchanged)" if previous is not None else "")
    else:
        verb = "rose" if value > previous else "fell"
        moved = f"{verb} from {shown(metric, previous)} to {shown(metric, value)}"
    aim = f" (target {shown(metric, target)})" if target is not None else ""
    return f"{label} {moved}{aim}."


@tool
async def read_step_kpis(
    step: Step | None = None,
    periods: Annotated[int, Field(ge=2, le=24)] = 6,
    *,
    user_id: Annotated[str | None, Injected("user_id")] = None,
    conversation_id: Annotated[str | None, Injected("conversation_id")] = None,
    db: Annotated[Any, Injected("db")] = None,
) -> dict[str, Any]:
    """Read the student's funnel KPIs for one Elevate step: each metric's latest value, the
    previous period's, the change, the target and the recent trend, with a sentence per metric.

    Args:
        step: The Elevate step (Hook, Gift, ...); usually set by the agent's configuration.
        periods: How many recent funnel snapshots the trend covers.
    """
    user_id = await _student(db, conversation_id) or user_id
    if not user_id:
        raise ToolError("there is no student to read KPIs for", code="missing_context")
    if step is None:
        raise ToolError("which step? pass step (Hook, Gift, ...)", code="missing_context")
    rows = await Snapshots(db).list(user_id, limit=periods)
    targets = await Targets(db).effective(user_id)
    latest = rows[-1] if rows else None
    previous = rows[-2] if len(rows) > 1 else None
    metrics = [_metric(m, rows, targets) for m in step_metrics(step)]
    lines = [m["text"] for m in metrics] or [f"{step} has no funnel metric of its own."]
    if latest is None:
        lines = ["No funnel snapshots yet: add one on the KPI dashboard or import a CSV."]
    return {
        "step": step,
        "module_number": module_number(step),
        "period": None if latest is None else latest.snapshot_date.date().isoformat(),
        "previous_period": None if previous is None else previous.snapshot_date.date().isoformat(),
        "metrics": metrics,
        "weakest_step": weakest_step(latest, targets) if latest is not None else None,
        "summary": " ".join(lines),
    }


async def _student(db: Any, conversation_id: str | None) -> str | None:
    """In a module conversation the KPIs are its student's, whoever (a coach, a teammate)
    asked; elsewhere they are the caller's own."""
    if not conversation_id:
        return None
    progress = await CourseWork(db).owner_of_conversation(conversation_id)
    return progress.user_id if progress is not None else None


def _metric(metric: str, rows: list[Any], targets: dict[str, float]) -> dict[str, Any]:
    value = getattr(rows[-1], metric) if rows else None
    previous = getattr(rows[-2], metric) if len(rows) > 1 else None
    target = targets.get(metric)
    distance = gap(metric, value, target) if value is not None and target is not None else None
    return {
        "metric": metric,
        "label": LABELS.get(metric, metric),
        "value": value,
        "previous": previous,
        "change": change(value, previous),
        "target": target,
        "gap": distance,
        "below_target": distance is not None and distance > 0,
        "trend": [
            {"date": r.snapshot_date.date().isoformat(), "value": getattr(r, metric)} for r in rows
        ],
        "text": sentence(metric, value, previous, target),
    }
