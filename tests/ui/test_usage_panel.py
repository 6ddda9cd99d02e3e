"""The usage panel in Chromium: a person's tokens and cost per day and per agent, as the server
computed them; a used-up agent budget shows in the room as the turn's failure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from runtime.testing import SLOW_OFFLINE_PROVIDER
from store.db import Database
from store.usage import record
from tests.ui.conftest import Client, LiveServer
from tests.ui.helpers import open_room, send, sign_in, wait_for_messages

pytestmark = pytest.mark.browser


async def test_the_panel_shows_tokens_and_cost_per_day_and_agent(
    browser: Any, live_server: LiveServer, client: Client, database_url: str, artifacts: Path
) -> None:
    ada = await client.register("Ada")
    agent = await client.call(
        "POST",
        "/agents",
        ada["token"],
        json={"name": "Helper", "handle": "helper", "model": f"{SLOW_OFFLINE_PROVIDER}:5"},
    )
    room = await client.call(
        "POST",
        "/conversations",
        ada["token"],
        json={"title": "Costs", "participants": [{"kind": "agent", "agent_id": agent["id"]}]},
    )
    # Yesterday Ada's runs of Helper on gpt-4o-mini cost 200k * $0.15 + 50k * $0.60 per million.
    db = Database(database_url)
    try:
        yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
        await record(
            db,
            day=yesterday,
            source="turn",
            user_id=ada["id"],
            agent_id=agent["id"],
            model="openai:gpt-4o-mini",
            input_tokens=200_000,
            output_tokens=50_000,
            cost=0.06,
            priced=True,
        )
    finally:
        await db.close()

    context = await browser.new_context(viewport={"width": 1280, "height": 1000})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await sign_in(page, live_server.url, ada)
    await open_room(page, live_server.url, room["id"])
    await send(page, "hello helper, what does this cost?")
    await wait_for_messages(page, 2)
    await client.call(
        "PUT", f"/usage/budgets/agents/{agent['id']}", ada["token"], json={"daily_tokens": 1}
    )
    await send(page, "and once more")
    await wait_for_messages(page, 4)
    refusal = page.locator(".transcript .turn-error").last
    await expect(refusal).to_contain_text("budget_exceeded")
    await expect(refusal).to_contain_text("this agent's daily token budget is used up")

    await page.get_by_role("link", name="Usage").click()
    await page.wait_for_function("() => document.body.dataset.usage === 'ready'")
    await expect(page.get_by_role("heading", name="Usage and cost")).to_be_visible()
    totals = page.get_by_label("Totals")
    await expect(totals).to_contain_text("$0.06")
    await expect(totals).to_contain_text("200,")  # the input tokens, with separators
    # The slowed offline test model has no price: the page says so instead of guessing.
    await expect(page.locator(".unpriced")).to_contain_text(f"{SLOW_OFFLINE_PROVIDER}:5")
    row = page.locator("table.usage-agents tbody tr")
    await expect(row).to_have_count(1)
    await expect(row.locator("th")).to_have_text("Helper")
    await expect(row.locator("td").last).to_have_text("$0.06")
    drawn = await page.evaluate(
        "() => [...document.querySelectorAll('.usage canvas')]"
        ".filter((c) => window.Chart && window.Chart.getChart(c)).length"
    )
    assert drawn == 1
    days = await page.locator(".chart-values tbody tr td:first-child").all_text_contents()
    assert days[0] == yesterday and len(days) == 2
    await page.screenshot(path=str(artifacts / "usage-panel.png"), full_page=True)

    await page.get_by_label("Show").select_option("agents")
    await page.wait_for_function("() => document.body.dataset.usage === 'ready'")
    await expect(page.locator("table.usage-agents tbody tr th")).to_have_text("Helper")
    assert errors == []
    await context.close()
