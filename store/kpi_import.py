"""CSV imports of funnel snapshots, customers and journey events: all rows or none.

A file is read whole, every row is checked (row numbers count data rows from 1; 0 is the
header), and only a file without a single problem is written, in one transaction. Columns are
matched to fields by name, through a mapping {csv column: field} the student confirms; a
confirmed mapping is remembered per student and kind and used when the next file brings none.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.base import utcnow
from store.db import Database
from store.errors import StoreError
from store.journeys import refresh_rollup
from store.kpi_metrics import FUNNEL_STEPS, METRICS, metric_problem
from store.models import CsvMapping, Customer, CustomerJourneyEvent, UserFunnelSnapshot
from store.timestamps import parse_timestamp

MAX_ROWS = 20_000
MAX_ERRORS = 100
KINDS = ("snapshots", "customers", "events")


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    reason: str


class ImportRejected(StoreError):
    """The file has problems; nothing of it was stored. `errors` name row, column and reason."""

    code = "invalid_csv"

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = errors[:MAX_ERRORS]
        first = errors[0]
        super().__init__(
            f"{len(errors)} problem(s), nothing imported; first: row {first.row}, "
            f"{first.column}: {first.reason}"
        )

    def details(self) -> list[dict[str, Any]]:
        return [asdict(e) for e in self.errors]


Parser = Callable[[str], Any]


def _text(limit: int) -> Parser:
    def parse(raw: str) -> str:
        if len(raw) > limit:
            raise ValueError(f"longer than {limit} characters")
        return raw

    return parse


def _number(metric: str) -> Parser:
    def parse(raw: str) -> float:
        text = raw.replace(",", "").replace("$", "").replace("€", "").replace("£", "").strip()
        percent = text.endswith("%")
        try:
            exact = Decimal(text.rstrip("%").strip())
        except InvalidOperation:
            raise ValueError(f"{raw!r} is not a number") from None
        if not exact.is_finite():
            raise ValueError(f"{raw!r} is not a number")
        value = float(exact / 100 if percent else exact)
        problem = metric_problem(metric, value)
        if problem:
            raise ValueError(f"{raw!r}: {problem}")
        return value

    return parse


def _timestamp(raw: str) -> Any:
    return parse_timestamp(raw)


def _step(raw: str) -> str:
    for step in FUNNEL_STEPS:
        if raw.lower() == step.lower():
            return step
    raise ValueError(f"{raw!r} is not a step; expected one of " + ", ".join(FUNNEL_STEPS))


def _tags(raw: str) -> list[str]:
    return [t.strip() for t in raw.replace(";", ",").split(",") if t.strip()]


@dataclass(frozen=True)
class Kind:
    """What one kind of import accepts: its fields' parsers, which are required, defaults."""

    fields: dict[str, Parser]
    required: tuple[str, ...]
    defaults: dict[str, Any]


SNAPSHOTS = Kind(
    fields={
        "snapshot_date": _timestamp,
        "time_period": _text(64),
        **{m: _number(m) for m in METRICS},
        "notes": _text(10_000),
        "channel": _text(128),
        "campaign_id": _text(128),
        "experiment_id": _text(128),
    },
    required=("snapshot_date",),
    defaults={"time_period": "custom"},
)
CUSTOMERS = Kind(
    fields={
        "name": _text(200),
        "email": _text(320),
        "segment": _text(200),
        "tags": _tags,
        "phone": _text(64),
        "company": _text(200),
        "preferred_channel": _text(64),
    },
    required=("name",),
    defaults={},
)
EVENTS = Kind(
    fields={
        "customer_id": _text(26),
        "customer_email": _text(320),
        "step": _step,
        "event_type": _text(64),
        "channel": _text(128),
        "details": _text(10_000),
        "timestamp": _timestamp,
    },
    required=("step", "timestamp"),
    defaults={},
)
KIND_SPECS = {"snapshots": SNAPSHOTS, "customers": CUSTOMERS, "events": EVENTS}


def fields_of(kind: str) -> list[str]:
    """The field names a CSV of this kind may map columns to (for the mapping form)."""
    return list(KIND_SPECS[kind].fields)


def read_csv(data: bytes) -> tuple[list[str], list[list[str]]]:
    """The header and the data rows of a UTF-8 (optionally BOM-prefixed) CSV file."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRejected([RowError(0, "file", "not UTF-8 text")]) from None
    rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not rows:
        raise ImportRejected([RowError(0, "file", "the file is empty")])
    if len(rows) - 1 > MAX_ROWS:
        raise ImportRejected([RowError(0, "file", f"more than {MAX_ROWS} data rows")])
    return [h.strip() for h in rows[0]], rows[1:]


def resolve_mapping(kind: Kind, header: list[str], mapping: dict[str, Any]) -> dict[str, str]:
    """{csv column: field} for this header: the mapping's entries, then same-named columns.

    A mapping value of "" or null skips that column on purpose.
    """
    errors = []
    resolved: dict[str, str] = {}
    for column, field in mapping.items():
        if column not in header:
            continue  # a remembered mapping may name columns this file lacks
        if field in (None, ""):
            resolved[column] = ""
        elif field not in kind.fields:
            errors.append(RowError(0, column, f"{field!r} is not a field of this import"))
        else:
            resolved[column] = field
    for column in header:
        if column not in resolved and column in kind.fields:
            resolved[column] = column
    targets = [f for f in resolved.values() if f]
    for field in sorted({f for f in targets if targets.count(f) > 1}):
        errors.append(RowError(0, field, "more than one column maps to this field"))
    for field in kind.required:
        if field not in targets:
            errors.append(RowError(0, field, "no column maps to this required field"))
    if errors:
        raise ImportRejected(errors)
    return {c: f for c, f in resolved.items() if f}


def parse_rows(
    kind: Kind, header: list[str], rows: list[list[str]], mapping: dict[str, str]
) -> list[dict[str, Any]]:
    """Every row as field values; any problem anywhere raises ImportRejected with them all."""
    positions = [(header.index(column), column, field) for column, field in mapping.items()]
    errors: list[RowError] = []
    parsed = []
    for number, row in enumerate(rows, start=1):
        values = dict(kind.defaults)
        for position, column, field in positions:
            raw = row[position].strip() if position < len(row) else ""
            if not raw:
                continue
            try:
                values[field] = kind.fields[field](raw)
            except ValueError as exc:
                errors.append(RowError(number, column, str(exc)))
        for field in kind.required:
            if field not in values:
                column = next(c for _, c, f in positions if f == field)
                errors.append(RowError(number, column, "empty; this field is required"))
        parsed.append(values)
    if errors:
        raise ImportRejected(errors)
    return parsed


class CsvImports:
    """Imports for one student, all or nothing, remembering the mapping they confirmed."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def remembered(self, user_id: str, kind: str) -> dict[str, str]:
        async with self.db.read() as session:
            row = await session.scalar(_mapping_query(user_id, kind))
        return dict(row.mapping) if row is not None else {}

    async def run(
        self, user_id: str, kind: str, data: bytes, mapping: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Import the file; returns {imported, mapping, ignored_columns}."""
        spec = KIND_SPECS[kind]
        header, rows = read_csv(data)
        chosen = mapping if mapping is not None else await self.remembered(user_id, kind)
        resolved = resolve_mapping(spec, header, chosen)
        values = parse_rows(spec, header, rows, resolved)
        async with self.db.session() as session:
            if kind == "events":
                values = await _attach_customers(session, user_id, values, resolved)
            if values:
                model = _MODELS[kind]
                await session.execute(insert(model), [{**v, "user_id": user_id} for v in values])
            if kind == "events":
                await refresh_rollup(session, [v["customer_id"] for v in values])
            if mapping is not None:
                await _remember(session, user_id, kind, {str(k): v for k, v in mapping.items()})
        ignored = [c for c in header if c not in resolved]
        return {"imported": len(values), "mapping": resolved, "ignored_columns": ignored}


_MODELS: dict[str, Any] = {
    "snapshots": UserFunnelSnapshot,
    "customers": Customer,
    "events": CustomerJourneyEvent,
}


def _mapping_query(user_id: str, kind: str) -> Any:
    return select(CsvMapping).where(CsvMapping.user_id == user_id, CsvMapping.kind == kind)


async def _remember(session: AsyncSession, user_id: str, kind: str, mapping: dict) -> None:
    row = await session.scalar(_mapping_query(user_id, kind))
    if row is None:
        session.add(CsvMapping(user_id=user_id, kind=kind, mapping=mapping))
    else:
        row.mapping, row.updated_at = mapping, utcnow()


async def _attach_customers(
    session: AsyncSession, user_id: str, values: list[dict[str, Any]], mapping: dict[str, str]
) -> list[dict[str, Any]]:
    """Resolve each event's customer (by id or e-mail) among this student's customers only."""
    column_of = {f: c for c, f in mapping.items()}
    ids = {v["customer_id"] for v in values if "customer_id" in v}
    emails = {v["customer_email"].lower() for v in values if "customer_email" in v}
    known_ids: set[str] = set()
    by_email: dict[str, str] = {}
    if ids:
        query = select(Customer.id).where(Customer.user_id == user_id, Customer.id.in_(ids))
        known_ids = set(await session.scalars(query))
    if emails:
        query = select(Customer.id, Customer.email).where(Customer.user_id == user_id)
        for customer_id, email in await session.execute(query.where(Customer.email.is_not(None))):
            by_email.setdefault(email.lower(), customer_id)
    errors = []
    for number, v in enumerate(values, start=1):
        customer = v.pop("customer_id", None)
        email = v.pop("customer_email", None)
        if customer is None and email is not None:
            customer = by_email.get(email.lower())
            reason, column = f"no customer of yours has the e-mail {email!r}", "customer_email"
        else:
            customer = customer if customer in known_ids else None
            reason, column = "not one of your customers", "customer_id"
        if customer is None:
            if "customer_id" not in column_of and "customer_email" not in column_of:
                column, reason = "customer_id", "no column maps to customer_id or customer_email"
            errors.append(RowError(number, column_of.get(column, column), reason))
        v["customer_id"] = customer
    if errors:
        raise ImportRejected(errors)
    return values
