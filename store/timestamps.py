"""Timestamps as the KPI REST and CSV imports accept them: ISO 8601 or epoch milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_timestamp(value: object) -> datetime:
    """An aware UTC datetime from ISO 8601 text (a date alone is midnight UTC; no offset means
    UTC), a datetime, or epoch milliseconds (a number, or a string of 10 or more digits)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, bool):
        raise ValueError("expected an ISO 8601 timestamp or epoch milliseconds")
    elif isinstance(value, int | float):
        moment = datetime.fromtimestamp(value / 1000, UTC)
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        if text.isdigit() and len(text) >= 10:
            moment = datetime.fromtimestamp(int(text) / 1000, UTC)
        else:
            try:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(
                    f"{text!r} is not an ISO 8601 timestamp or epoch milliseconds"
                ) from None
    else:
        raise ValueError("expected an ISO 8601 timestamp or epoch milliseconds")
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
