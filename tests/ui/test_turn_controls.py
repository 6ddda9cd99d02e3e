"""Controls over a running turn: Stop keeps the partial reply marked cancelled; a tool that
needs approval waits for a person's click, then runs and the reply goes on."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from runtime.testing import SLOW_OFFLINE_PROVIDER as SLOW_PROVIDER
from tests.ui.conftest import Client, LiveServer
from tests.ui.helpers import assert_well_formed, open_room, send, sign_in, wait_for_messages

pytestmark = pytest.mark.browser


async def solo_room(client: Client, delay_ms: int) -> tuple[dict, dict, str]:
    erin = await client.register("Erin")
    agent = await client.call(
        "POST",
        "/agents",
        erin["token"],
        json={"name": "Guide", "handle": "guide", "model": f"{SLOW_PROVIDER}:{delay_ms}"},
    )
    conversation = await client.call(
        "POST",
        "/conversations",
        erin["token"],
        json={"title": "Controls", "participants": [{"kind": "agent", "agent_id": agent["id"]}]},
    )
    return erin, agent, conversation["id"]


async def test_stop_cancels_the_running_reply_and_keeps_what_was_written(
    browser: Any, live_server: LiveServer, client: Client
) -> None:
    erin, _, conversation_id = await solo_room(client, delay_ms=400)
    page = await (await browser.new_context()).new_page()
    await sign_in(page, live_server.url, erin)
    await open_room(page, live_server.url, conversation_id)

    await send(page, "tell me a very long story about trains, stations and the night sky")
    await expect(page.locator(".live .msg.streaming .body")).to_have_text(re.compile(r"\S"))
    stop = page.get_by_role("button", name="Stop the agent's reply")
    await stop.click()

    rows = await wait_for_messages(page, 2)
    assert_well_formed(rows)
    assert rows[1]["author"] == "Guide"
    assert rows[1]["status"] == "cancelled"
    full = 'Guide (offline): I read your message about "tell me a very long story about trains,..."'
    assert full.startswith(rows[1]["content"]) and rows[1]["content"] != full
    await expect(stop).to_be_hidden()


async def test_a_tool_call_waits_for_approval_in_the_room(
    browser: Any, live_server: LiveServer, client: Client
) -> None:
    erin, agent, conversation_id = await solo_room(client, delay_ms=20)
    await client.call(
        "PUT",
        f"/agents/{agent['id']}/tools/remember",
        erin["token"],
        json={"config": {"requires_approval": True}},
    )
    page = await (await browser.new_context()).new_page()
    await sign_in(page, live_server.url, erin)
    await open_room(page, live_server.url, conversation_id)

    await send(page, "remember that the launch is on Friday")
    approve = page.get_by_role("button", name="Approve")
    await expect(approve).to_be_visible()
    await expect(page.locator(".approval pre")).to_contain_text("the launch is on Friday")
    await approve.click()

    rows = await wait_for_messages(page, 2)
    assert_well_formed(rows)
    assert rows[-1]["author"] == "Guide"
    assert "remember returned" in rows[-1]["content"]
    activity = page.locator(".transcript .activity").last
    summary = activity.locator(":scope > summary")
    await expect(summary).to_have_text("1 tool call")
    # It opened itself to show the approval; a person would only click it open otherwise.
    if not await activity.evaluate("(details) => details.open"):
        await summary.click()
    await expect(activity.locator(".tool.status-ok")).to_be_visible()


async def test_a_delegation_shows_as_a_nested_turn(
    browser: Any, live_server: LiveServer, client: Client, artifacts: Path
) -> None:
    erin = await client.register("Erin")
    scribe = await client.call(
        "POST",
        "/agents",
        erin["token"],
        json={"name": "Scribe", "handle": "scribe", "model": f"{SLOW_PROVIDER}:20"},
    )
    lead = await client.call(
        "POST",
        "/agents",
        erin["token"],
        json={
            "name": "Lead",
            "handle": "lead",
            "model": f"{SLOW_PROVIDER}:20",
            "delegates_to": [scribe["id"]],
        },
    )
    conversation = await client.call(
        "POST",
        "/conversations",
        erin["token"],
        json={
            "title": "Hand-offs",
            "participants": [
                {"kind": "agent", "agent_id": lead["id"]},
                {"kind": "agent", "agent_id": scribe["id"]},
            ],
        },
    )
    page = await (await browser.new_context()).new_page()
    await sign_in(page, live_server.url, erin)
    await open_room(page, live_server.url, conversation["id"])
    # Record the turns as they start, to check the nesting the page was told about.
    await page.evaluate(
        """() => {
          window.__turns = [];
          window.elevate.socket.on('turn.start', (f) => window.__turns.push(f));
        }"""
    )

    await send(page, "@lead /delegate @scribe draft a tagline for the launch")
    # Both agents are @mentioned, but Scribe's mention is the hand-off's: Scribe answers once,
    # nested in Lead's turn, not a second time in its own right.
    rows = await wait_for_messages(page, 3)
    assert_well_formed(rows)
    assert [row["author"] for row in rows] == ["Erin", "Scribe", "Lead"]
    assert "delegate returned" in rows[2]["content"]

    turns = await page.evaluate("() => window.__turns")
    parent = next(t for t in turns if t["agent"]["handle"] == "lead")
    child = next(t for t in turns if t["agent"]["handle"] == "scribe")
    assert child["parent_turn_id"] == parent["turn_id"]
    nested = page.locator(".transcript > li.nested")
    await expect(nested).to_have_count(1)
    await expect(nested.locator(".via")).to_have_text("delegated by Lead")
    lead_activity = page.locator(f'.transcript > li[data-turn="{parent["turn_id"]}"] .activity')
    await expect(lead_activity.locator(":scope > summary")).to_have_text(
        "1 tool call, 1 delegation"
    )
    await lead_activity.locator(":scope > summary").click()
    await expect(lead_activity.locator(".delegation")).to_have_text("↳ Delegated to @scribe")
    await page.screenshot(path=str(artifacts / "room-delegation.png"))
