"""The caller's KPIs (DESIGN section 11): summary, targets, journeys, feedback, A/B, usage.

Each answers JSON, or with `?format=csv` the same table as CSV. All figures are computed in
the database by the queries in `store/`; see docs/kpis.md for the formulas.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, status

from server.deps import CurrentUser, DatabaseDep
from server.errors import not_found
from server.routes.kpi_support import (
    Format,
    From,
    To,
    csv_response,
    field_error,
    fields_named,
    moment,
)
from server.schemas.kpis import AbResultCreate, FeedbackCreate, FeedbackPublic
from store import ab_stats
from store.analytics import AbTests, Feedback
from store.feedback_stats import feedback_by_module, feedback_summary
from store.journeys import closed_funnel
from store.kpi_metrics import FUNNEL_STEPS, PHASES
from store.kpis import Targets, summary
from store.usage import usage

router = APIRouter(prefix="/api/kpis", tags=["kpis"])


@router.get("/summary")
async def get_summary(
    user: CurrentUser,
    db: DatabaseDep,
    since: From = None,
    until: To = None,
    channel: str | None = None,
    campaign_id: str | None = None,
    experiment_id: str | None = None,
    format: Format = "json",
) -> Any:
    body = await summary(
        db,
        user.id,
        since=moment(since, "from"),
        until=moment(until, "to"),
        channel=channel,
        campaign_id=campaign_id,
        experiment_id=experiment_id,
    )
    if format == "csv":
        rows = [
            {"phase": phase, "metric": metric, **entry}
            for phase in (*PHASES, "derived")
            for metric, entry in body[phase].items()
        ]
        return csv_response(rows, "summary")
    return body


@router.get("/targets")
async def get_targets(user: CurrentUser, db: DatabaseDep) -> dict[str, float]:
    return await Targets(db).effective(user.id)


@router.put("/targets")
async def put_targets(
    user: CurrentUser,
    db: DatabaseDep,
    body: Annotated[dict[str, float | None], Body(description="{metric: value or null}")],
) -> dict[str, float]:
    with fields_named():
        return await Targets(db).set(user.id, body)


@router.get("/journeys")
async def get_journeys(
    user: CurrentUser,
    db: DatabaseDep,
    steps: Annotated[str | None, Query(description="comma-separated, e.g. Hook,Gift,Sell")] = None,
    segment: str | None = None,
    channel: str | None = None,
    format: Format = "json",
) -> Any:
    chosen = _steps(steps)
    rows = await closed_funnel(db, user.id, chosen, segment=segment, channel=channel)
    return csv_response(rows, "journeys") if format == "csv" else rows


def _steps(raw: str | None) -> list[str]:
    if raw is None or not raw.strip():
        return list(FUNNEL_STEPS)
    names = [s.strip() for s in raw.split(",") if s.strip()]
    by_lower = {s.lower(): s for s in FUNNEL_STEPS}
    unknown = [n for n in names if n.lower() not in by_lower]
    if unknown:
        message = f"unknown step {unknown[0]!r}; expected some of " + ", ".join(FUNNEL_STEPS)
        raise field_error("steps", message, "query")
    chosen = [by_lower[n.lower()] for n in names]
    if len(set(chosen)) != len(chosen):
        raise field_error("steps", "a step is listed twice", "query")
    return chosen


@router.post("/feedback", status_code=status.HTTP_201_CREATED, response_model=FeedbackPublic)
async def add_feedback(body: FeedbackCreate, user: CurrentUser, db: DatabaseDep) -> Any:
    with fields_named():
        return await Feedback(db).create(user.id, **body.model_dump(exclude_unset=True))


@router.get("/feedback")
async def get_feedback(
    user: CurrentUser, db: DatabaseDep, module_id: str | None = None, format: Format = "json"
) -> Any:
    body = await feedback_summary(db, user_id=user.id, module_id=module_id)
    return csv_response([body], "feedback") if format == "csv" else body


@router.get("/feedback/modules")
async def get_feedback_by_module(
    user: CurrentUser, db: DatabaseDep, format: Format = "json"
) -> Any:
    """The caller's CSAT and NPS per module (module_id null: feedback about no module)."""
    grouped = await feedback_by_module(db, user_id=user.id)
    rows = [{"module_id": module_id, **scores} for module_id, scores in grouped.items()]
    return csv_response(rows, "feedback-by-module") if format == "csv" else rows


@router.post("/ab-tests", status_code=status.HTTP_201_CREATED)
async def record_ab_result(body: AbResultCreate, user: CurrentUser, db: DatabaseDep) -> Any:
    fields = body.model_dump(exclude={"test_name", "variant", "exposures", "conversions"})
    with fields_named():
        row = await AbTests(db).record(
            user.id, body.test_name, body.variant, body.exposures, body.conversions, **fields
        )
    public = row.to_dict()
    public.pop("user_id", None)
    return public


@router.get("/ab-tests")
async def list_ab_tests(user: CurrentUser, db: DatabaseDep) -> list[str]:
    """The names of the caller's A/B tests, oldest first."""
    return await AbTests(db).names(user.id)


@router.get("/ab-tests/{test_name}")
async def get_ab_test(
    test_name: str, user: CurrentUser, db: DatabaseDep, format: Format = "json"
) -> Any:
    rows = await AbTests(db).for_test(user.id, test_name)
    if not rows:
        raise not_found("A/B test")
    body = ab_stats.compare(rows)
    if format == "csv":
        return csv_response(body["variants"], "ab-test", f"ab-test-{test_name}")
    return {"test_name": test_name, **body}


@router.get("/usage")
async def get_usage(
    user: CurrentUser,
    db: DatabaseDep,
    since: From = None,
    until: To = None,
    format: Format = "json",
    table: Annotated[str, Query(pattern="^(days|agents)$")] = "days",
) -> Any:
    body = await usage(db, user.id, since=moment(since, "from"), until=moment(until, "to"))
    return csv_response(body[table], f"usage-{table}") if format == "csv" else body
