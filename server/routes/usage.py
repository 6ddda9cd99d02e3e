"""Usage and cost REST: tokens and server-computed cost per day, agent, person, conversation
and model, and the daily token budgets (docs/operations.md, docs/protocol.md).

Who reads what: a person their own usage (the runs their messages caused, delegated turns and
playbook runs included); an agent's creator that agent's usage (totals per day and model, not
who used it); staff everything. Another person's usage is 403.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status

from server.access import can_edit_agent
from server.deps import AgentsDep, CurrentUser, DatabaseDep, RuntimeDep, UsersDep
from server.errors import forbidden
from server.routes.kpi_support import From, To, field_error, moment
from server.schemas.usage import BudgetUpdate
from store.budgets import Budgets
from store.enums import BudgetSubject
from store.models import Agent, User
from store.usage import LedgerScope, agents_owned_by, cost_report

router = APIRouter(prefix="/api/usage", tags=["usage"])

DEFAULT_DAYS = 30
MAX_DAYS = 366
Scope = Annotated[
    Literal["me", "agents", "all"],
    Query(description="me: your own usage; agents: the agents you created; all: staff only"),
]


def _days(since: str | None, until: str | None, today: str) -> tuple[str, str]:
    """The inclusive UTC day range; by default the last 30 days up to today."""
    end = moment(until, "to")
    start = moment(since, "from")
    last = end.astimezone(UTC).date() if end else datetime.fromisoformat(today).date()
    first = start.astimezone(UTC).date() if start else last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise field_error("from", "must not be after `to`", "query")
    if (last - first).days >= MAX_DAYS:
        raise field_error("from", f"a range covers at most {MAX_DAYS} days", "query")
    return first.isoformat(), last.isoformat()


async def _agent(agents: Any, agent_id: str, user: User) -> Agent:
    agent: Agent = await agents.get(agent_id)
    if not can_edit_agent(agent, user):
        raise forbidden(f"only the creator of @{agent.handle} or staff may read its usage")
    return agent


@router.get("")
async def get_usage(
    user: CurrentUser,
    db: DatabaseDep,
    runtime: RuntimeDep,
    agents: AgentsDep,
    scope: Scope = "me",
    user_id: str | None = None,
    agent_id: str | None = None,
    since: From = None,
    until: To = None,
) -> dict[str, Any]:
    """Tokens and cost in the chosen scope, narrowed by `user_id` and `agent_id`."""
    first, last = _days(since, until, runtime.meter.today())
    if user_id is not None and user_id != user.id and not user.is_staff:
        raise forbidden("only staff may read another person's usage")
    if scope == "all" and not user.is_staff:
        raise forbidden("only staff may read everyone's usage")
    if agent_id is not None and scope != "me":
        await _agent(agents, agent_id, user)
    who = user_id if user_id is not None else (user.id if scope == "me" else None)
    which: tuple[str, ...] | None = (agent_id,) if agent_id is not None else None
    if scope == "agents" and agent_id is None:
        which = await agents_owned_by(db, user.id)
    body = await cost_report(db, LedgerScope(first, last, who, which))
    if scope == "agents" and not user.is_staff:
        # The agent's creator sees what it cost, not who talked to it or where.
        body["users"], body["conversations"] = [], []
    return {"scope": scope, **body}


@router.get("/budget")
async def get_budget(
    user: CurrentUser, runtime: RuntimeDep, agents: AgentsDep, agent_id: str | None = None
) -> dict[str, Any]:
    """Today's tokens against your daily budget (and an agent's, for its creator or staff)."""
    if agent_id is not None:
        await _agent(agents, agent_id, user)
    return await runtime.meter.status(user_id=user.id, agent_id=agent_id)


async def _budget_body(db: Any, subject: str, subject_id: str, meter: Any) -> dict[str, Any]:
    override = await Budgets(db).get(subject, subject_id)
    default = (
        meter.settings.daily_token_budget_per_user
        if subject == BudgetSubject.USER
        else meter.settings.daily_token_budget_per_agent
    )
    return {
        "subject": subject,
        "id": subject_id,
        "daily_tokens": override,
        "default": default,
        "effective": default if override is None else override,
    }


@router.get("/budgets/users/{user_id}")
async def get_user_budget(
    user_id: str, user: CurrentUser, db: DatabaseDep, users: UsersDep, runtime: RuntimeDep
) -> dict[str, Any]:
    if user_id != user.id and not user.is_staff:
        raise forbidden("only staff may read another person's budget")
    await users.get(user_id)
    return await _budget_body(db, BudgetSubject.USER, user_id, runtime.meter)


@router.put("/budgets/users/{user_id}")
async def put_user_budget(
    user_id: str,
    body: BudgetUpdate,
    user: CurrentUser,
    db: DatabaseDep,
    users: UsersDep,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    if not user.is_staff:
        raise forbidden("only staff may set a person's budget")
    await users.get(user_id)
    await Budgets(db).set(BudgetSubject.USER, user_id, body.daily_tokens, by=user.id)
    return await _budget_body(db, BudgetSubject.USER, user_id, runtime.meter)


@router.delete("/budgets/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_user_budget(
    user_id: str, user: CurrentUser, db: DatabaseDep, users: UsersDep
) -> Response:
    if not user.is_staff:
        raise forbidden("only staff may change a person's budget")
    await users.get(user_id)
    await Budgets(db).clear(BudgetSubject.USER, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/budgets/agents/{agent_id}")
async def get_agent_budget(
    agent_id: str, user: CurrentUser, db: DatabaseDep, agents: AgentsDep, runtime: RuntimeDep
) -> dict[str, Any]:
    await _agent(agents, agent_id, user)
    return await _budget_body(db, BudgetSubject.AGENT, agent_id, runtime.meter)


@router.put("/budgets/agents/{agent_id}")
async def put_agent_budget(
    agent_id: str,
    body: BudgetUpdate,
    user: CurrentUser,
    db: DatabaseDep,
    agents: AgentsDep,
    runtime: RuntimeDep,
) -> dict[str, Any]:
    await _agent(agents, agent_id, user)
    await Budgets(db).set(BudgetSubject.AGENT, agent_id, body.daily_tokens, by=user.id)
    return await _budget_body(db, BudgetSubject.AGENT, agent_id, runtime.meter)


@router.delete("/budgets/agents/{agent_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_agent_budget(
    agent_id: str, user: CurrentUser, db: DatabaseDep, agents: AgentsDep
) -> Response:
    await _agent(agents, agent_id, user)
    await Budgets(db).clear(BudgetSubject.AGENT, agent_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
