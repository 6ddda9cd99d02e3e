"""Usage and cost REST over a live server: a person reads their own usage, an agent's creator
that agent's, staff everyone's; another person's is refused. Budgets are set by staff (people)
and creators (agents), and a used-up one stops the next turn with `budget_exceeded`."""

from __future__ import annotations

import asyncio
from typing import Any

from store import crud
from store.models import User as UserRow
from store.usage import record
from tests.server.live import Api, User


async def _staff(api: Api) -> User:
    staff = await api.register("Staff")
    await crud.update(api.server.services.db, UserRow, staff.id, is_staff=True)
    return staff


async def _reply(api: Api, user: User, room: str, count: int) -> dict[str, Any]:
    """Wait for the `count`-th agent message of the room (the offline model answers)."""
    async with asyncio.timeout(20):
        while True:
            page = await api.ok("GET", f"/api/conversations/{room}/messages", user)
            replies = [m for m in page["messages"] if m["turn_id"]]
            if len(replies) >= count:
                return replies[count - 1]
            await asyncio.sleep(0.05)


async def _ask(api: Api, user: User, room: str, text: str, count: int) -> dict[str, Any]:
    path = f"/api/conversations/{room}/messages"
    await api.ok("POST", path, user, json={"content": text, "client_msg_id": f"m-{count}"})
    return await _reply(api, user, room, count)


async def test_each_reads_what_they_may_and_nothing_else(api: Api) -> None:
    ada, bob, staff = await api.register("Ada"), await api.register("Bob"), await _staff(api)
    agent = await api.ok("POST", "/api/agents", ada, json={"name": "Ada Bot"})
    room = (await api.conversation(ada, agents=(agent["id"],)))["id"]
    reply = await _ask(api, ada, room, "hello there, how are you", 1)
    assert reply["meta"]["usage"]["priced"] is True  # offline: free, and known to be

    mine = await api.ok("GET", "/api/usage", ada)
    assert mine["scope"] == "me" and mine["totals"]["turns"] == 1
    assert mine["totals"]["input_tokens"] == reply["meta"]["usage"]["input_tokens"] > 0
    (by_agent,) = mine["agents"]
    assert (by_agent["agent_id"], by_agent["name"]) == (agent["id"], "Ada Bot")
    assert [u["user_id"] for u in mine["users"]] == [ada.id]
    # Bob's use of Ada's agent (recorded as the runtime records a turn) is not Ada's usage.
    await record(
        api.server.services.db,
        day=mine["to"],
        source="turn",
        user_id=bob.id,
        agent_id=agent["id"],
        model="openai:gpt-4o",
        input_tokens=1000,
        output_tokens=100,
        cost=0.0035,
        priced=True,
    )
    assert (await api.ok("GET", "/api/usage", ada))["totals"]["turns"] == 1
    assert (await api.ok("GET", "/api/usage", bob))["totals"]["input_tokens"] == 1000

    # The creator sees the agent's whole cost, but not who used it or where.
    owned = await api.ok("GET", "/api/usage?scope=agents", ada)
    assert owned["totals"]["turns"] == 2 and owned["totals"]["cost"] == 0.0035
    assert owned["users"] == [] and owned["conversations"] == []
    one = await api.ok("GET", f"/api/usage?scope=agents&agent_id={agent['id']}", ada)
    assert one["totals"] == owned["totals"]

    refused = [
        f"/api/usage?user_id={ada.id}",
        f"/api/usage?scope=agents&agent_id={agent['id']}",
        "/api/usage?scope=all",
        f"/api/usage/budget?agent_id={agent['id']}",
        f"/api/usage/budgets/users/{ada.id}",
        f"/api/usage/budgets/agents/{agent['id']}",
    ]
    for path in refused:
        response = await api.call("GET", path, bob)
        assert response.status_code == 403, path
        assert response.json()["code"] == "forbidden"
    assert (await api.call("GET", "/api/usage?scope=agents&agent_id=nope", ada)).status_code == 404
    assert (await api.call("GET", "/api/usage")).status_code == 401

    everyone = await api.ok("GET", "/api/usage?scope=all", staff)
    assert {u["user_id"] for u in everyone["users"]} == {ada.id, bob.id}
    assert (await api.ok("GET", f"/api/usage?scope=all&user_id={bob.id}", staff))["totals"][
        "cost"
    ] == 0.0035
    assert (await api.ok("GET", f"/api/usage?user_id={ada.id}", ada))["totals"]["turns"] == 1


async def test_day_ranges_are_checked(api: Api) -> None:
    ada = await api.register("Ada")
    body = await api.ok("GET", "/api/usage?from=2026-01-01&to=2026-01-31", ada)
    assert (body["from"], body["to"]) == ("2026-01-01", "2026-01-31")
    for query, field in [
        ("from=2026-02-01&to=2026-01-01", "from"),
        ("from=2024-01-01&to=2026-01-01", "from"),
        ("to=yesterday", "to"),
    ]:
        response = await api.call("GET", f"/api/usage?{query}", ada)
        assert response.status_code == 422, query
        assert response.json()["details"][0]["loc"][-1] == field
    assert (await api.call("GET", "/api/usage?scope=everything", ada)).status_code == 422


async def test_budgets_are_set_by_staff_and_creators_and_stop_the_next_turn(api: Api) -> None:
    ada, bob, staff = await api.register("Ada"), await api.register("Bob"), await _staff(api)
    agent = await api.ok("POST", "/api/agents", ada, json={"name": "Ada Bot"})
    path = f"/api/usage/budgets/agents/{agent['id']}"
    assert (await api.call("PUT", path, bob, json={"daily_tokens": 1})).status_code == 403
    bad = await api.call("PUT", path, ada, json={"daily_tokens": -1})
    assert bad.status_code == 422 and bad.json()["details"][0]["loc"][-1] == "daily_tokens"
    unknown = await api.call("PUT", "/api/usage/budgets/agents/nope", ada, json={"daily_tokens": 1})
    assert unknown.status_code == 404
    user_path = f"/api/usage/budgets/users/{ada.id}"
    assert (await api.call("PUT", user_path, ada, json={"daily_tokens": 5})).status_code == 403
    assert (await api.ok("GET", user_path, ada))["effective"] == 0  # no limit by default
    set_by_staff = await api.ok("PUT", user_path, staff, json={"daily_tokens": 1_000_000})
    assert set_by_staff == {
        "subject": "user",
        "id": ada.id,
        "daily_tokens": 1_000_000,
        "default": 0,
        "effective": 1_000_000,
    }
    assert (await api.ok("PUT", path, ada, json={"daily_tokens": 1}))["effective"] == 1

    room = (await api.conversation(ada, agents=(agent["id"],)))["id"]
    first = await _ask(api, ada, room, "hello", 1)
    assert first["status"] == "complete"
    standing = await api.ok("GET", f"/api/usage/budget?agent_id={agent['id']}", ada)
    assert standing["agent"]["exceeded"] is True and standing["user"]["exceeded"] is False
    second = await _ask(api, ada, room, "hello again", 2)
    assert second["status"] == "failed"
    assert second["meta"]["error_code"] == "budget_exceeded"
    assert "this agent's daily token budget" in second["meta"]["error"]

    assert (await api.call("DELETE", path, bob)).status_code == 403
    assert (await api.call("DELETE", path, ada)).status_code == 204
    assert (await api.ok("GET", path, staff))["daily_tokens"] is None
    third = await _ask(api, ada, room, "and now?", 3)
    assert third["status"] == "complete"
    assert (await api.call("DELETE", user_path, staff)).status_code == 204
