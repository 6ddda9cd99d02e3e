"""Runtime usage for one person: messages, agent turns and tokens per day and per agent, from
what `conversation_messages` and `agent_turns` already record, in the conversations the person
takes part in. GROUP BY in SQL; days are UTC calendar days (YYYY-MM-DD).

Below it, the usage ledger: what each agent turn and playbook run consumed and cost, recorded
with the result it belongs to, read for daily budgets and the usage and cost reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from store import crud
from store.db import Database
from store.enums import AgentKind, UsageSource
from store.models import (
    Agent,
    AgentTurn,
    Conversation,
    ConversationMessage,
    ConversationParticipant,
    UsageBudget,
    UsageRecord,
    User,
)


def _day(db: Database, column: Any) -> Any:
    if db.is_sqlite:
        return func.date(column)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")


def _conversations(user_id: str) -> Any:
    return (
        select(ConversationParticipant.conversation_id)
        .where(ConversationParticipant.user_id == user_id)
        .scalar_subquery()
    )


def _window(query: Any, column: Any, since: datetime | None, until: datetime | None) -> Any:
    if since is not None:
        query = query.where(column >= since)
    if until is not None:
        query = query.where(column <= until)
    return query


async def usage(
    db: Database, user_id: str, *, since: datetime | None = None, until: datetime | None = None
) -> dict[str, Any]:
    """{days: [{day, messages, turns, input_tokens, output_tokens}], agents: [{agent_id, name,
    turns, input_tokens, output_tokens}]}, days oldest first, agents by turns."""
    m, t = ConversationMessage, AgentTurn
    mday, tday = _day(db, m.created_at).label("day"), _day(db, t.created_at).label("day")
    messages = _window(
        select(mday, func.count().label("n")).where(m.conversation_id.in_(_conversations(user_id))),
        m.created_at,
        since,
        until,
    ).group_by(mday)
    tokens = (func.sum(t.input_tokens).label("i"), func.sum(t.output_tokens).label("o"))
    turns = _window(
        select(tday, func.count().label("n"), *tokens).where(
            t.conversation_id.in_(_conversations(user_id))
        ),
        t.created_at,
        since,
        until,
    ).group_by(tday)
    agents = (
        _window(
            select(t.agent_id, Agent.name, func.count().label("n"), *tokens)
            .outerjoin(Agent, Agent.id == t.agent_id)
            .where(t.conversation_id.in_(_conversations(user_id))),
            t.created_at,
            since,
            until,
        )
        .group_by(t.agent_id, Agent.name)
        .order_by(func.count().desc())
    )
    async with db.read() as session:
        days: dict[str, dict[str, Any]] = {}
        for row in await session.execute(messages):
            days.setdefault(str(row.day), _empty_day(str(row.day)))["messages"] = int(row.n)
        for row in await session.execute(turns):
            day = days.setdefault(str(row.day), _empty_day(str(row.day)))
            day.update(
                turns=int(row.n), input_tokens=int(row.i or 0), output_tokens=int(row.o or 0)
            )
        by_agent = [
            {
                "agent_id": row.agent_id,
                "name": row.name,
                "turns": int(row.n),
                "input_tokens": int(row.i or 0),
                "output_tokens": int(row.o or 0),
            }
            for row in await session.execute(agents)
        ]
    return {"days": [days[d] for d in sorted(days)], "agents": by_agent}


def _empty_day(day: str) -> dict[str, Any]:
    return {"day": day, "messages": 0, "turns": 0, "input_tokens": 0, "output_tokens": 0}


# The usage ledger (`usage_records`): tokens and cost of every agent turn and playbook run,
# per UTC day, for budgets and for the usage and cost reports.

LEDGER_TOTALS = ("input_tokens", "output_tokens", "cached_tokens")


def record_in(session: AsyncSession, **fields: Any) -> UsageRecord:
    """Add one ledger row inside the caller's transaction (the one that stores the result)."""
    row = crud.build(UsageRecord, **fields)
    session.add(row)
    return row


async def record(db: Database, **fields: Any) -> UsageRecord:
    async with db.session() as session:
        return record_in(session, **fields)


@dataclass(frozen=True)
class DayUse:
    """Tokens a person and an agent used on one day, and their budget overrides (None: the
    default applies)."""

    user_tokens: int
    agent_tokens: int
    user_budget: int | None
    agent_budget: int | None


def _tokens_on(day: str, column: Any, value: str) -> Any:
    r = UsageRecord
    return (
        select(func.coalesce(func.sum(r.input_tokens + r.output_tokens), 0))
        .where(column == value, r.day == day)
        .scalar_subquery()
    )


def _budget_of(column: Any, value: str) -> Any:
    return select(UsageBudget.daily_tokens).where(column == value).scalar_subquery()


async def day_use_in(
    session: AsyncSession, day: str, *, user_id: str | None, agent_id: str | None
) -> DayUse:
    """What `user_id` and `agent_id` used on `day`, with their overrides, in one statement."""
    none = literal(None)
    zero = literal(0)
    row = (
        await session.execute(
            select(
                _tokens_on(day, UsageRecord.user_id, user_id) if user_id else zero,
                _tokens_on(day, UsageRecord.agent_id, agent_id) if agent_id else zero,
                _budget_of(UsageBudget.user_id, user_id) if user_id else none,
                _budget_of(UsageBudget.agent_id, agent_id) if agent_id else none,
            )
        )
    ).one()
    return DayUse(int(row[0] or 0), int(row[1] or 0), row[2], row[3])


async def day_use(
    db: Database, day: str, *, user_id: str | None = None, agent_id: str | None = None
) -> DayUse:
    async with db.read() as session:
        return await day_use_in(session, day, user_id=user_id, agent_id=agent_id)


def _sums() -> tuple[Any, ...]:
    r = UsageRecord
    return (
        func.count().label("runs"),
        func.sum(case((r.source == UsageSource.TURN.value, 1), else_=0)).label("turns"),
        func.sum(r.input_tokens).label("input_tokens"),
        func.sum(r.output_tokens).label("output_tokens"),
        func.sum(r.cached_tokens).label("cached_tokens"),
        func.sum(r.cost).label("cost"),
    )


def _figures(row: Any) -> dict[str, Any]:
    return {
        "runs": int(row.runs or 0),
        "turns": int(row.turns or 0),
        "input_tokens": int(row.input_tokens or 0),
        "output_tokens": int(row.output_tokens or 0),
        "cached_tokens": int(row.cached_tokens or 0),
        "cost": round(float(row.cost or 0.0), 8),
    }


@dataclass(frozen=True)
class LedgerScope:
    """Which rows a report reads: days `since`..`until` (inclusive, YYYY-MM-DD) and, when
    given, only one person's runs and/or only some agents' runs."""

    since: str
    until: str
    user_id: str | None = None
    agent_ids: tuple[str, ...] | None = None

    def apply(self, query: Any) -> Any:
        r = UsageRecord
        query = query.where(r.day >= self.since, r.day <= self.until)
        if self.user_id is not None:
            query = query.where(r.user_id == self.user_id)
        if self.agent_ids is not None:
            query = query.where(r.agent_id.in_(self.agent_ids))
        return query


async def cost_report(db: Database, scope: LedgerScope) -> dict[str, Any]:
    """Tokens and cost in `scope`: totals, and per day, agent, agent and day, person,
    conversation and model. Agents by cost then tokens; unpriced models listed by name."""
    r = UsageRecord
    sums = _sums()
    queries = {
        "days": select(r.day, *sums).group_by(r.day).order_by(r.day),
        "agents": select(r.agent_id, Agent.name, Agent.handle, *sums)
        .outerjoin(Agent, Agent.id == r.agent_id)
        .group_by(r.agent_id, Agent.name, Agent.handle)
        .order_by(func.sum(r.cost).desc(), func.sum(r.input_tokens + r.output_tokens).desc()),
        "agent_days": select(r.day, r.agent_id, *sums)
        .group_by(r.day, r.agent_id)
        .order_by(r.day, r.agent_id),
        "users": select(r.user_id, User.name, *sums)
        .outerjoin(User, User.id == r.user_id)
        .group_by(r.user_id, User.name)
        .order_by(func.sum(r.cost).desc()),
        "conversations": select(r.conversation_id, Conversation.title, *sums)
        .outerjoin(Conversation, Conversation.id == r.conversation_id)
        .group_by(r.conversation_id, Conversation.title)
        .order_by(func.sum(r.cost).desc()),
        "models": select(r.model, r.priced, *sums)
        .group_by(r.model, r.priced)
        .order_by(func.sum(r.cost).desc(), r.model),
    }
    keys = {
        "days": ("day",),
        "agents": ("agent_id", "name", "handle"),
        "agent_days": ("day", "agent_id"),
        "users": ("user_id", "name"),
        "conversations": ("conversation_id", "title"),
        "models": ("model", "priced"),
    }
    body: dict[str, Any] = {"from": scope.since, "to": scope.until}
    async with db.read() as session:
        total = (await session.execute(scope.apply(select(*sums)))).one()
        for name, query in queries.items():
            rows = await session.execute(scope.apply(query))
            body[name] = [
                {**{k: getattr(row, k) for k in keys[name]}, **_figures(row)} for row in rows
            ]
    for model in body["models"]:
        model["priced"] = bool(model["priced"])
    unpriced = sorted({m["model"] or "" for m in body["models"] if not m["priced"]})
    body["totals"] = {**_figures(total), "unpriced_models": unpriced}
    return body


async def agents_owned_by(db: Database, user_id: str) -> tuple[str, ...]:
    """Ids of the user agents `user_id` created (deleted ones too: their usage happened)."""
    async with db.read() as session:
        rows = await session.scalars(
            select(Agent.id).where(Agent.created_by == user_id, Agent.kind == AgentKind.USER.value)
        )
        return tuple(rows)
