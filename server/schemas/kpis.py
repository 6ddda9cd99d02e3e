"""KPI REST bodies (DESIGN section 11): snapshots, CRM, feedback, tickets, A/B results.

Timestamps accept ISO 8601 text or epoch milliseconds and leave as ISO 8601; a value out of
range is 422 naming the field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationInfo, create_model, field_validator

from server.schemas.base import In, Out
from store.kpi_metrics import FUNNEL_STEPS, METRICS, metric_problem
from store.timestamps import parse_timestamp

Timestamp = Annotated[datetime, BeforeValidator(parse_timestamp)]
Step = Literal[FUNNEL_STEPS]  # type: ignore[valid-type]
Text = Annotated[str, Field(max_length=10_000)]


def _check_metric(value: float | None, info: ValidationInfo) -> float | None:
    problem = value is not None and metric_problem(str(info.field_name), value)
    if problem:
        raise ValueError(problem)
    return value


_SnapshotBase = create_model(  # type: ignore[call-overload]
    "_SnapshotBase",
    __base__=In,
    **{metric: (float | None, None) for metric in METRICS},
)


class SnapshotCreate(_SnapshotBase):  # type: ignore[misc, valid-type]
    """One funnel snapshot: the seed's fields in snake_case; rates are fractions."""

    snapshot_date: Timestamp
    time_period: Annotated[str, Field(min_length=1, max_length=64)] = "custom"
    notes: Text | None = None
    channel: Annotated[str, Field(max_length=128)] | None = None
    campaign_id: Annotated[str, Field(max_length=128)] | None = None
    experiment_id: Annotated[str, Field(max_length=128)] | None = None

    _metrics = field_validator(*METRICS)(_check_metric)


class CustomerCreate(In):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    email: Annotated[str, Field(max_length=320)] | None = None
    segment: Annotated[str, Field(max_length=200)] | None = None
    tags: list[Annotated[str, Field(max_length=100)]] | None = None
    phone: Annotated[str, Field(max_length=64)] | None = None
    company: Annotated[str, Field(max_length=200)] | None = None
    preferred_channel: Annotated[str, Field(max_length=64)] | None = None


class CustomerPublic(Out):
    id: str
    name: str
    email: str | None = None
    segment: str | None = None
    tags: list[Any] | None = None
    created_at: datetime


class EventCreate(In):
    step: Step
    event_type: Annotated[str, Field(max_length=64)] | None = None
    channel: Annotated[str, Field(max_length=128)] | None = None
    details: Text | None = None
    timestamp: Timestamp


class EventPublic(Out):
    id: str
    customer_id: str
    step: str
    event_type: str | None = None
    channel: str | None = None
    details: str | None = None
    timestamp: datetime


class FeedbackCreate(In):
    module_id: Annotated[str, Field(max_length=26)] | None = None
    csat: Annotated[int, Field(ge=1, le=5)] | None = None
    nps: Annotated[int, Field(ge=0, le=10)] | None = None
    feedback: Text | None = None
    self_reported_results: Text | None = None


class FeedbackPublic(Out):
    id: str
    module_id: str | None = None
    csat: float | None = None
    nps: float | None = None
    feedback: str | None = None
    self_reported_results: str | None = None
    created_at: datetime


class TicketCreate(In):
    subject: Annotated[str, Field(min_length=1, max_length=300)]
    message: Annotated[str, Field(min_length=1, max_length=10_000)]
    module_id: Annotated[str, Field(max_length=26)] | None = None


class TicketUpdate(In):
    status: Literal["open", "closed"]


class TicketPublic(Out):
    id: str
    user_id: str
    module_id: str | None = None
    subject: str
    message: str
    status: str | None = None
    created_at: datetime
    updated_at: datetime | None = None


class AbResultCreate(In):
    test_name: Annotated[str, Field(min_length=1, max_length=200)]
    variant: Annotated[str, Field(min_length=1, max_length=100)]
    metric: Annotated[str, Field(max_length=100)] | None = None
    exposures: Annotated[int, Field(ge=0)]
    conversions: Annotated[int, Field(ge=0)]
    notes: Text | None = None
