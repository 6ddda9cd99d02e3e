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
from store.timestamps import parse_timestamp

Format = Annotated[Literal["json", "csv"], Query(description="csv: the same table as CSV")]


def csv_response(rows: list[dict[str, Any]], name: str) -> Response:
    """The rows as a CSV download; datetimes as ISO 8601, nulls as empty cells."""
    out = io.StringIO()
    columns = list(rows[0]) if rows else []
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
