"""Metering: the cost of each run from the price table, and the daily token budgets.

A turn's usage is priced here (`priced_usage`) and recorded in the usage ledger in the same
transaction as its reply (`ledger_fields` with `store.usage.record_in`), so the cost a client
sees is the server's and a turn is counted exactly once. Before a turn or playbook run starts,
the tokens its person and its agent used today (UTC) are compared with their budgets: an
override row (`store.budgets`) or else the setting (`daily_token_budget_per_user`,
`daily_token_budget_per_agent`; 0 means no limit). A budget that is used up refuses the run
with `BudgetExceeded` (code `budget_exceeded`) until the next UTC day.

`now` is injectable so tests (and only tests) can move the day boundary.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from runtime.errors import RunError
from runtime.pricing import PriceTable
from runtime.settings import Settings
from store.db import Database
from store.usage import DayUse, day_use_in


class BudgetExceeded(RunError):
    """A person's or an agent's daily token budget is used up; runs resume the next UTC day."""

    code = "budget_exceeded"

    def __init__(
        self, scope: str, limit: int, used: int, day: str, resets_at: datetime, **ids: Any
    ) -> None:
        self.scope, self.limit, self.used, self.day = scope, limit, used, day
        self.resets_at = resets_at
        whose = "this person's" if scope == "user" else "this agent's"
        super().__init__(
            f"budget_exceeded: {whose} daily token budget is used up ({used} of {limit} tokens "
            f"on {day}, UTC); it resets at {resets_at.isoformat()}",
            **ids,
        )

    def details(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "limit": self.limit,
            "used": self.used,
            "day": self.day,
            "resets_at": self.resets_at.isoformat(),
        }


def utc_now() -> datetime:
    return datetime.now(UTC)


class UsageMeter:
    """Prices usage and enforces daily budgets; one per runtime (and per playbook runner)."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        prices: PriceTable | None = None,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.db, self.settings = db, settings
        self.prices = prices or PriceTable.from_settings(settings)
        self.now = now

    def today(self) -> str:
        return self.now().astimezone(UTC).date().isoformat()

    def resets_at(self) -> datetime:
        start = datetime.combine(self.now().astimezone(UTC).date(), datetime.min.time(), UTC)
        return start + timedelta(days=1)

    def priced_usage(self, model: str | None, usage: dict[str, Any]) -> dict[str, Any]:
        """`usage` ({input_tokens, output_tokens, cached_tokens?}) with its `cost` and whether
        the model had a price (`priced`)."""
        tokens = {
            key: int(usage.get(key, 0) or 0)
            for key in ("input_tokens", "output_tokens", "cached_tokens")
        }
        cost = self.prices.cost(
            model, tokens["input_tokens"], tokens["output_tokens"], tokens["cached_tokens"]
        )
        return {**tokens, "cost": cost.cost, "priced": cost.priced}

    def ledger_fields(self, model: str | None, usage: dict[str, Any], **where: Any) -> dict:
        """The ledger row's fields for a run's usage (`where`: source, ids)."""
        priced = self.priced_usage(model, usage)
        return {"day": self.today(), "model": model, **priced, **where}

    def limits(self, use: DayUse) -> tuple[int, int]:
        user = use.user_budget
        agent = use.agent_budget
        return (
            self.settings.daily_token_budget_per_user if user is None else user,
            self.settings.daily_token_budget_per_agent if agent is None else agent,
        )

    async def refusal_in(
        self, session: AsyncSession, *, user_id: str | None, agent_id: str | None, **ids: Any
    ) -> BudgetExceeded | None:
        """The refusal for a run by `agent_id` for `user_id` today, or None if it may run."""
        day = self.today()
        use = await day_use_in(session, day, user_id=user_id, agent_id=agent_id)
        user_limit, agent_limit = self.limits(use)
        ids = {**ids, "agent_id": agent_id}
        if user_id and user_limit and use.user_tokens >= user_limit:
            return BudgetExceeded("user", user_limit, use.user_tokens, day, self.resets_at(), **ids)
        if agent_id and agent_limit and use.agent_tokens >= agent_limit:
            return BudgetExceeded(
                "agent", agent_limit, use.agent_tokens, day, self.resets_at(), **ids
            )
        return None

    async def check(self, *, user_id: str | None, agent_id: str | None, **ids: Any) -> None:
        """Raise `BudgetExceeded` when the run may not start."""
        async with self.db.read() as session:
            refusal = await self.refusal_in(session, user_id=user_id, agent_id=agent_id, **ids)
        if refusal is not None:
            raise refusal

    async def status(self, *, user_id: str | None, agent_id: str | None = None) -> dict:
        """Today's use against the budgets (for the usage panel)."""
        day = self.today()
        async with self.db.read() as session:
            use = await day_use_in(session, day, user_id=user_id, agent_id=agent_id)
        user_limit, agent_limit = self.limits(use)
        body: dict[str, Any] = {"day": day, "resets_at": self.resets_at().isoformat()}
        if user_id:
            body["user"] = _standing(use.user_tokens, user_limit, use.user_budget is not None)
        if agent_id:
            body["agent"] = _standing(use.agent_tokens, agent_limit, use.agent_budget is not None)
        return body


def _standing(used: int, limit: int, override: bool) -> dict[str, Any]:
    return {
        "used": used,
        "limit": limit or None,
        "remaining": max(limit - used, 0) if limit else None,
        "exceeded": bool(limit) and used >= limit,
        "override": override,
    }
