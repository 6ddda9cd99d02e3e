"""KPI data in: funnel snapshots, customers and journey events, by REST and CSV import.

Every row belongs to the caller; another student's customer is 404. A CSV with any bad row is
422 with every problem (row, column, reason) and stores nothing.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, UploadFile, status

from server.deps import CurrentUser, DatabaseDep
from server.errors import ApiError
from server.routes.kpi_support import (
    Format,
    From,
    To,
    csv_response,
    field_error,
    fields_named,
    moment,
)
from server.schemas.kpis import (
    CustomerCreate,
    CustomerPublic,
    EventCreate,
    EventPublic,
    SnapshotCreate,
)
from store import crud
from store.analytics import Customers, JourneyEvents
from store.kpi_import import CsvImports, ImportRejected, fields_of
from store.kpis import Snapshots
from store.models import Customer

router = APIRouter(prefix="/api/kpis", tags=["kpis"])

MAX_UPLOAD = 5 * 1024 * 1024
ImportKind = Literal["snapshots", "customers", "events"]


def snapshot_public(row: Any) -> dict[str, Any]:
    body = row.to_dict()
    body.pop("user_id", None)
    return body


@router.post("/snapshots", status_code=status.HTTP_201_CREATED)
async def add_snapshot(body: SnapshotCreate, user: CurrentUser, db: DatabaseDep) -> Any:
    with fields_named():
        row = await Snapshots(db).add(user.id, **body.model_dump())
    return snapshot_public(row)


@router.get("/snapshots")
async def list_snapshots(
    user: CurrentUser,
    db: DatabaseDep,
    since: From = None,
    until: To = None,
    channel: str | None = None,
    campaign_id: str | None = None,
    experiment_id: str | None = None,
    format: Format = "json",
) -> Any:
    rows = await Snapshots(db).list(
        user.id,
        since=moment(since, "from"),
        until=moment(until, "to"),
        channel=channel,
        campaign_id=campaign_id,
        experiment_id=experiment_id,
    )
    public = [snapshot_public(r) for r in rows]
    return csv_response(public, "snapshots") if format == "csv" else public


async def _import(
    db: Any, user_id: str, kind: str, file: UploadFile, mapping: str | None
) -> dict[str, Any]:
    data = await file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise ApiError(413, "too_large", f"the file is larger than {MAX_UPLOAD} bytes")
    parsed: dict[str, Any] | None = None
    if mapping not in (None, ""):
        try:
            parsed = json.loads(mapping)
        except json.JSONDecodeError as exc:
            raise field_error("mapping", f"not JSON: {exc.msg}") from exc
        if not isinstance(parsed, dict) or not all(
            isinstance(v, str | None) for v in parsed.values()
        ):
            raise field_error("mapping", "expected a JSON object {csv column: field}")
    try:
        return await CsvImports(db).run(user_id, kind, data, parsed)
    except ImportRejected as exc:
        raise ApiError(422, exc.code, str(exc), details=exc.details()) from exc


Upload = Annotated[UploadFile, File(description="a CSV file with a header row")]
Mapping = Annotated[str | None, Form(description='JSON {"csv column": "field"}')]


@router.post("/snapshots/import")
async def import_snapshots(
    user: CurrentUser, db: DatabaseDep, file: Upload, mapping: Mapping = None
) -> Any:
    return await _import(db, user.id, "snapshots", file, mapping)


@router.post("/customers/import")
async def import_customers(
    user: CurrentUser, db: DatabaseDep, file: Upload, mapping: Mapping = None
) -> Any:
    return await _import(db, user.id, "customers", file, mapping)


@router.post("/events/import")
async def import_events(
    user: CurrentUser, db: DatabaseDep, file: Upload, mapping: Mapping = None
) -> Any:
    return await _import(db, user.id, "events", file, mapping)


@router.get("/imports/{kind}/mapping")
async def remembered_mapping(kind: ImportKind, user: CurrentUser, db: DatabaseDep) -> Any:
    """The fields a CSV of this kind can fill and the mapping the caller confirmed last."""
    return {
        "kind": kind,
        "fields": fields_of(kind),
        "mapping": await CsvImports(db).remembered(user.id, kind),
    }


@router.post("/customers", status_code=status.HTTP_201_CREATED, response_model=CustomerPublic)
async def add_customer(body: CustomerCreate, user: CurrentUser, db: DatabaseDep) -> Any:
    return await Customers(db).create(user.id, **body.model_dump(exclude_unset=True))


@router.get("/customers", response_model=list[CustomerPublic])
async def list_customers(user: CurrentUser, db: DatabaseDep) -> Any:
    return await Customers(db).list_for_user(user.id)


@router.post(
    "/customers/{customer_id}/events",
    status_code=status.HTTP_201_CREATED,
    response_model=EventPublic,
)
async def add_event(customer_id: str, body: EventCreate, user: CurrentUser, db: DatabaseDep) -> Any:
    fields = body.model_dump(exclude_unset=True)
    return await JourneyEvents(db).create(user.id, customer_id=customer_id, **fields)


@router.get("/customers/{customer_id}/events", response_model=list[EventPublic])
async def list_events(customer_id: str, user: CurrentUser, db: DatabaseDep) -> Any:
    await crud.get(db, Customer, customer_id, user_id=user.id)
    return await JourneyEvents(db).for_customer(customer_id)
