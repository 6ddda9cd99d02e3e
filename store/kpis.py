"""A student's funnel snapshots, their KPI targets, and the KPI summary computed from them.

The summary reads two rows (the latest snapshot matching the filters and the one before it,
through the (user, date) indexes); the formulas are DESIGN section 11's, documented in
docs/kpis.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, select

from store import crud
from store.base import utcnow
from store.db import Database
from store.errors import InvalidValue
from store.kpi_metrics import (
    COST_METRICS,
    FUNNEL_STEPS,
    METRICS,
    PHASES,
    default_targets,
    metric_problem,
    step_of,
)
from store.models import KpiTarget, UserFunnelSnapshot

MAX_SNAPSHOTS = 5000


def change(value: float | None, previous: float | None) -> float | None:
    """(value - previous) / previous; None without both or when previous is 0."""
    if value is None or previous is None or previous == 0:
        return None
    return (value - previous) / previous


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def gap(metric: str, value: float, target: float) -> float | None:
    """How far below its target a metric is, relative to the target (costs: above it)."""
    if target == 0:
        return None
    return (value - target) / target if metric in COST_METRICS else (target - value) / target


def module_number(step: str) -> int:
    """The course module that teaches a step (Hook is module 1 ... Share is 9)."""
    return FUNNEL_STEPS.index(step) + 1


class Snapshots:
    """A student's funnel snapshots, filtered by date range, channel and campaign."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, user_id: str, **fields: Any) -> UserFunnelSnapshot:
        for metric in METRICS:
            value = fields.get(metric)
            problem = value is not None and metric_problem(metric, value)
            if problem:
                raise InvalidValue("user_funnel_snapshots", metric, value, problem)
        fields.setdefault("time_period", "custom")
        row = crud.build(UserFunnelSnapshot, user_id=user_id, **fields)
        return await crud.insert(self.db, row)

    async def list(
        self, user_id: str, *, limit: int = MAX_SNAPSHOTS, **filters: Any
    ) -> list[UserFunnelSnapshot]:
        """Snapshots in date order (the newest `limit` of them)."""
        query = _filtered(user_id, **filters).order_by(
            UserFunnelSnapshot.snapshot_date.desc(), UserFunnelSnapshot.id.desc()
        )
        rows = await crud.scalars(self.db, query.limit(max(1, min(limit, MAX_SNAPSHOTS))))
        return rows[::-1]

    async def latest(self, user_id: str, count: int = 2, **filters: Any) -> list[Any]:
        """The newest `count` snapshots, newest first."""
        return await self.list(user_id, limit=count, **filters)


def _filtered(
    user_id: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    channel: str | None = None,
    campaign_id: str | None = None,
    experiment_id: str | None = None,
) -> Select[Any]:
    s = UserFunnelSnapshot
    query = select(s).where(s.user_id == user_id)
    if since is not None:
        query = query.where(s.snapshot_date >= since)
    if until is not None:
        query = query.where(s.snapshot_date <= until)
    if channel is not None:
        query = query.where(s.channel == channel)
    if campaign_id is not None:
        query = query.where(s.campaign_id == campaign_id)
    if experiment_id is not None:
        query = query.where(s.experiment_id == experiment_id)
    return query


class Targets:
    """A student's KPI targets: their own where set, the course's defaults otherwise."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def own(self, user_id: str) -> dict[str, float]:
        async with self.db.read() as session:
            rows = await session.execute(
                select(KpiTarget.metric, KpiTarget.value).where(KpiTarget.user_id == user_id)
            )
            return {metric: value for metric, value in rows}

    async def effective(self, user_id: str) -> dict[str, float]:
        return {**default_targets(), **await self.own(user_id)}

    async def set(self, user_id: str, targets: dict[str, float | None]) -> dict[str, float]:
        """Set (a number) or reset to the default (null) each given metric's target."""
        for metric, value in targets.items():
            if metric not in METRICS:
                raise InvalidValue("kpi_targets", metric, value, "a funnel metric name")
            problem = value is not None and metric_problem(metric, value)
            if problem:
                raise InvalidValue("kpi_targets", metric, value, problem)
        async with self.db.session() as session:
            await session.execute(
                delete(KpiTarget).where(
                    KpiTarget.user_id == user_id, KpiTarget.metric.in_(list(targets))
                )
            )
            for metric, value in targets.items():
                if value is not None:
                    session.add(
                        KpiTarget(user_id=user_id, metric=metric, value=value, updated_at=utcnow())
                    )
        return await self.effective(user_id)


def _entry(value: float | None, previous: float | None, target: float | None) -> dict[str, Any]:
    return {
        "value": value,
        "previous": previous,
        "change": change(value, previous),
        "target": target,
    }


def weakest_step(latest: Any, targets: dict[str, float]) -> dict[str, Any] | None:
    """The step metric furthest below its target, relative to it; None when none is below."""
    worst: dict[str, Any] | None = None
    for metric in METRICS:
        step = step_of(metric)
        value, target = getattr(latest, metric), targets.get(metric)
        if step is None or value is None or target is None:
            continue
        distance = gap(metric, value, target)
        if distance is not None and distance > 0 and (worst is None or distance > worst["gap"]):
            worst = {"step": step, "metric": metric, "value": value, "target": target}
            worst |= {"gap": distance, "module_number": module_number(step)}
    return worst


def _derived(row: Any) -> dict[str, float | None]:
    if row is None:
        return {"aov_uplift": None, "ltv_to_cac": None, "lead_to_sale": None}
    uplift = ratio(
        None
        if row.upsell_aov_final is None or row.sell_aov_initial is None
        else row.upsell_aov_final - row.sell_aov_initial,
        row.sell_aov_initial,
    )
    return {
        "aov_uplift": uplift,
        "ltv_to_cac": ratio(row.grow_cltv_estimate, row.convert_cpa),
        "lead_to_sale": ratio(row.convert_total_sales, row.attract_leads_total),
    }


async def summary(db: Database, user_id: str, **filters: Any) -> dict[str, Any]:
    """DESIGN section 11's summary: each phase's metrics, the derived ones, the weakest step."""
    rows = await Snapshots(db).latest(user_id, 2, **filters)
    targets = await Targets(db).effective(user_id)
    latest = rows[-1] if rows else None
    previous = rows[-2] if len(rows) > 1 else None
    body: dict[str, Any] = {}
    for phase, metrics in PHASES.items():
        body[phase] = {
            m: _entry(
                getattr(latest, m) if latest else None,
                getattr(previous, m) if previous else None,
                targets.get(m),
            )
            for m in metrics
        }
    now, before = _derived(latest), _derived(previous)
    body["derived"] = {k: _entry(now[k], before[k], None) for k in now}
    body["weakest_step"] = weakest_step(latest, targets) if latest else None
    body["period"] = {
        "latest": _period(latest),
        "previous": _period(previous),
    }
    return body


def _period(row: Any) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"id": row.id, "snapshot_date": row.snapshot_date, "time_period": row.time_period}
