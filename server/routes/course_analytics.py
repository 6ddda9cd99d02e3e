"""Staff analytics across the course's students: completion, drop-off, ratings, open tickets
per module. Students get 403."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from server.deps import CurrentUser, DatabaseDep
from server.errors import forbidden
from server.routes.kpi_support import Format, csv_response
from store.course_analytics import course_analytics

router = APIRouter(prefix="/api/course", tags=["course analytics"])


@router.get("/analytics")
async def get_course_analytics(user: CurrentUser, db: DatabaseDep, format: Format = "json") -> Any:
    if not user.is_staff:
        raise forbidden("course analytics are for staff")
    body = await course_analytics(db)
    return csv_response(body["modules"], "course-analytics") if format == "csv" else body
