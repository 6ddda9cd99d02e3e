"""CSAT and NPS from `user_feedback`, aggregated in SQL (per student, per module, or overall).

CSAT is the percentage of CSAT answers (1-5) of 4 or 5; NPS is the percentage of promoters
(9-10) minus the percentage of detractors (0-6), over the NPS answers.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select

from store.db import Database
from store.models import UserFeedback

F = UserFeedback


def _one(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


COLUMNS = (
    func.count().label("responses"),
    func.count(F.csat).label("csat_answers"),
    _one(F.csat >= 4).label("satisfied"),
    func.count(F.nps).label("nps_answers"),
    _one(F.nps >= 9).label("promoters"),
    _one((F.nps >= 7) & (F.nps < 9)).label("passives"),
    _one(F.nps <= 6).label("detractors"),
)


def scores(row: Any) -> dict[str, Any]:
    """{responses, csat, nps, promoters, passives, detractors, csat_answers, nps_answers}."""
    csat_answers, nps_answers = int(row.csat_answers or 0), int(row.nps_answers or 0)
    promoters, detractors = int(row.promoters or 0), int(row.detractors or 0)
    return {
        "responses": int(row.responses or 0),
        "csat": 100 * int(row.satisfied or 0) / csat_answers if csat_answers else None,
        "nps": 100 * (promoters - detractors) / nps_answers if nps_answers else None,
        "promoters": promoters,
        "passives": int(row.passives or 0),
        "detractors": detractors,
        "csat_answers": csat_answers,
        "nps_answers": nps_answers,
    }


async def feedback_summary(
    db: Database, *, user_id: str | None = None, module_id: str | None = None
) -> dict[str, Any]:
    query = select(*COLUMNS)
    if user_id is not None:
        query = query.where(F.user_id == user_id)
    if module_id is not None:
        query = query.where(F.module_id == module_id)
    async with db.read() as session:
        return scores((await session.execute(query)).one())


async def feedback_by_module(db: Database, *, user_id: str | None = None) -> dict[Any, dict]:
    """Scores keyed by module id (None for feedback about no module)."""
    query = select(F.module_id, *COLUMNS).group_by(F.module_id)
    if user_id is not None:
        query = query.where(F.user_id == user_id)
    async with db.read() as session:
        return {row.module_id: scores(row) for row in await session.execute(query)}
