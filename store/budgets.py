"""Daily token budget overrides: one person's or one agent's, replacing the settings' default.

The runtime reads them with the day's usage (`store.usage.day_use_in`); this repository is what
staff and agent owners edit through the API.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from store import crud
from store.db import Database
from store.enums import BudgetSubject
from store.errors import InvalidValue
from store.models import UsageBudget


def _column(subject: str) -> Any:
    if subject == BudgetSubject.USER:
        return UsageBudget.user_id
    if subject == BudgetSubject.AGENT:
        return UsageBudget.agent_id
    raise InvalidValue("usage_budgets", "subject", subject, "user or agent")


class Budgets:
    """Repository of `usage_budgets`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, subject: str, subject_id: str) -> int | None:
        """The override's daily tokens, or None when the default applies."""
        async with self.db.read() as session:
            return await session.scalar(
                select(UsageBudget.daily_tokens).where(_column(subject) == subject_id)
            )

    async def set(
        self, subject: str, subject_id: str, daily_tokens: int, *, by: str | None
    ) -> UsageBudget:
        """Create or replace the override (0 means no limit, like the settings)."""
        if daily_tokens < 0:
            raise InvalidValue("usage_budgets", "daily_tokens", daily_tokens, "a count >= 0")
        column = _column(subject)
        async with crud.writing(self.db, "usage_budgets") as session:
            row = await session.scalar(select(UsageBudget).where(column == subject_id))
            if row is None:
                row = crud.build(
                    UsageBudget,
                    subject=subject,
                    daily_tokens=daily_tokens,
                    updated_by=by,
                    **{column.key: subject_id},
                )
                session.add(row)
            else:
                crud.assign(row, daily_tokens=daily_tokens, updated_by=by)
        return row

    async def clear(self, subject: str, subject_id: str) -> bool:
        """Remove the override (the default applies again); True if there was one."""
        async with self.db.session() as session:
            result = await session.execute(
                delete(UsageBudget).where(_column(subject) == subject_id)
            )
        return bool(result.rowcount)
