"""Course analytics across students, for staff: per module, how many started and completed it,
its ratings, its open tickets and the assets students made in its step.

Each figure is one GROUP BY (progress by module and status, feedback by module, open tickets by
module, assets by step); only the ten modules' aggregates reach Python.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select

from store.db import Database
from store.enums import ProgressStatus
from store.feedback_stats import feedback_by_module
from store.models import (
    CourseModule,
    SupportTicket,
    User,
    UserGeneratedAsset,
    UserModuleProgress,
)

STARTED = (ProgressStatus.IN_PROGRESS.value, ProgressStatus.COMPLETED.value)


async def course_analytics(db: Database) -> dict[str, Any]:
    """{students, modules: [{module_number, step, title, started, completed, completion_rate,
    drop_off, csat, nps, responses, open_tickets, assets}]}; students are non-staff users."""
    p = UserModuleProgress
    progress_query = select(
        p.module_id,
        func.sum(case((p.status.in_(STARTED), 1), else_=0)).label("started"),
        func.sum(case((p.status == ProgressStatus.COMPLETED.value, 1), else_=0)).label("done"),
    ).group_by(p.module_id)
    tickets_query = (
        select(SupportTicket.module_id, func.count().label("n"))
        .where(SupportTicket.status == "open")
        .group_by(SupportTicket.module_id)
    )
    assets_query = select(UserGeneratedAsset.elevate_step, func.count().label("n")).group_by(
        UserGeneratedAsset.elevate_step
    )
    async with db.read() as session:
        students = int(
            await session.scalar(select(func.count()).where(User.is_staff.is_(False))) or 0
        )
        modules = list(
            await session.scalars(select(CourseModule).order_by(CourseModule.module_number))
        )
        progress = {r.module_id: r for r in await session.execute(progress_query)}
        tickets = {r.module_id: int(r.n) for r in await session.execute(tickets_query)}
        assets = {r.elevate_step: int(r.n) for r in await session.execute(assets_query)}
    ratings = await feedback_by_module(db)
    rows = []
    for module in modules:
        row = progress.get(module.id)
        started = int(row.started or 0) if row else 0
        completed = int(row.done or 0) if row else 0
        rating = ratings.get(module.id, {})
        rows.append(
            {
                "module_id": module.id,
                "module_number": module.module_number,
                "step": module.step,
                "title": module.title,
                "started": started,
                "completed": completed,
                "completion_rate": completed / students if students else None,
                "drop_off": 1 - completed / started if started else None,
                "csat": rating.get("csat"),
                "nps": rating.get("nps"),
                "responses": rating.get("responses", 0),
                "open_tickets": tickets.get(module.id, 0),
                "assets": assets.get(module.step, 0),
            }
        )
    return {"students": students, "modules": rows}
