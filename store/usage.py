"""Runtime usage for one person: messages, agent turns and tokens per day and per agent, from
what `conversation_messages` and `agent_turns` already record, in the conversations the person
takes part in. GROUP BY in SQL; days are UTC calendar days (YYYY-MM-DD)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from store.db import Database
from store.models import Agent, AgentTurn, ConversationMessage, ConversationParticipant


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
