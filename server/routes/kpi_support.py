"""What the KPI routes share: `?format=csv` answers, the from/to filters, and store refusals
turned into 422 naming the field (DESIGN sections 10 and 11)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Query
from fastapi.responses import Response

from server.errors import ApiError
from store.errors import InvalidValue
from store.models import UserFunnelSnapshot
from store.timestamps import parse_timestamp

Format = Annotated[Literal["json", "csv"], Query(description="csv: the same table as CSV")]


FEEDBACK_COLUMNS = [
    "responses", "csat", "nps", "promoters", "passives", "detractors", "csat_answers",
    "nps_answers",
]  # fmt: skip
COLUMNS: dict[str, list[str]] = {
    "snapshots": [c.key for c in UserFunnelSnapshot.__table__.columns if c.key != "user_id"],
    "summary": ["phase", "metric", "value", "previous", "change", "target"],
    "journeys": ["step", "customers", "conversion", "drop_off", "median_seconds_from_previous"],
    "feedback": FEEDBACK_COLUMNS,
    "feedback-by-module": ["module_id", *FEEDBACK_COLUMNS],
    "ab-test": [
        "variant", "metric", "exposures", "conversions", "rate", "lift", "z", "p_value",
        "ci_low", "ci_high", "significant", "prob_beat_control", "enough_data",
    ],
    "usage-days": ["day", "messages", "turns", "input_tokens", "output_tokens"],
    "usage-agents": ["agent_id", "name", "turns", "input_tokens", "output_tokens"],
    "course-analytics": [
        "module_id", "module_number", "step", "title", "started", "completed",
        "completion_rate", "drop_off", "csat", "nps", "responses", "open_tickets", "assets",
    ],
}  # fmt: skip


def csv_response(rows: list[dict[str, Any]], table: str, name: str | None = None) -> Response:
    """The rows as a CSV download with `table`'s header (also when empty); datetimes as
    ISO 8601, nulls as empty cells."""
    out = io.StringIO()
    columns = COLUMNS[table]
    name = name or table
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    return "" if value is None else value


def field_error(field: str, message: str, where: str = "body") -> ApiError:
    """A 422 in the shape of request validation errors, naming the field."""
    details = [{"loc": [where, field], "msg": message, "type": "value_error"}]
    return ApiError(422, "invalid_request", f"{field}: {message}", details=details)


@contextmanager
def fields_named(where: str = "body") -> Iterator[None]:
    """Store InvalidValue (a range, an unknown metric) leaves as 422 naming the field."""
    try:
        yield
    except InvalidValue as exc:
        raise field_error(exc.field, str(exc), where) from exc


def moment(value: str | None, name: str) -> datetime | None:
    """A `from`/`to` query value (ISO 8601 or epoch ms); a bad one is 422 naming it."""
    if value is None or value == "":
        return None
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise field_error(name, str(exc), "query") from exc


From = Annotated[str | None, Query(alias="from", description="ISO 8601 or epoch ms")]
To = Annotated[str | None, Query(alias="to", description="ISO 8601 or epoch ms")]
