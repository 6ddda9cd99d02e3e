"""What a turn did outlives the page: a call waiting for approval can still be decided after a
reload, everyone sees who decided, a failed turn says why, and tool calls and hand-offs are
still under their replies after a reload."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from runtime.testing import SLOW_OFFLINE_PROVIDER as SLOW_PROVIDER
from tests.ui.conftest import Client, LiveServer
from tests.ui.helpers import assert_well_formed, open_room, send, sign_in, wait_for_messages

pytestmark = pytest.mark.browser


async def keeper_room(client: Client, *people: dict[str, Any]) -> tuple[dict, str]:
    """A room (created by the first person) whose agent asks before each `remember`."""
    owner = people[0]
    keeper = await client.call(
        "POST",
        "/agents",
        owner["token"],
        json={"name": "Keeper", "handle": "keeper", "model": f"{SLOW_PROVIDER}:20"},
    )
    await client.call(
        "PUT",
        f"/agents/{keeper['id']}/tools/remember",
        owner["token"],
        json={"config": {"requires_approval": True}},
    )
    participants = [{"kind": "user", "user_id": p["id"]} for p in people[1:]]
    participants.append({"kind": "agent", "agent_id": keeper["id"]})
    conversation = await client.call(
        "POST",
        "/conversations",
        owner["token"],
        json={"title": "Approvals", "participants": participants},
    )
    return keeper, conversation["id"]


async def signed_in_room(browser: Any, base_url: str, user: dict, conversation_id: str) -> Page:
    page = await (await browser.new_context()).new_page()
    await sign_in(page, base_url, user)
    await open_room(page, base_url, conversation_id)
    return page


async def test_a_pending_approval_can_be_decided_after_a_reload(
    browser: Any, live_server: LiveServer, client: Client, artifacts: Path
) -> None:
    erin = await client.register("Erin")
    _, conversation_id = await keeper_room(client, erin)
    page = await signed_in_room(browser, live_server.url, erin, conversation_id)

    await send(page, "@keeper remember that the launch is on Friday")
    await expect(page.get_by_role("button", name="Approve")).to_be_visible()
    await page.reload()
    await open_room(page, live_server.url, conversation_id)

    card = page.locator(".approval")
    await expect(card).to_have_count(1)
    await expect(card.locator("pre")).to_contain_text("the launch is on Friday")
    approve = page.get_by_role("button", name="Approve")
    await expect(approve).to_be_enabled()
    await page.screenshot(path=str(artifacts / "approval-after-reload.png"))
    await approve.click()

    rows = await wait_for_messages(page, 2)
    assert_well_formed(rows)
    assert rows[1]["author"] == "Keeper" and rows[1]["status"] == "complete"
    assert "remember returned" in rows[1]["content"]


async def test_the_others_see_who_decided(
    browser: Any, live_server: LiveServer, client: Client, artifacts: Path
) -> None:
    alice, bob = await client.register("Alice"), await client.register("Bob")
    _, conversation_id = await keeper_room(client, alice, bob)
    alice_page = await signed_in_room(browser, live_server.url, alice, conversation_id)
    bob_page = await signed_in_room(browser, live_server.url, bob, conversation_id)

    await send(alice_page, "@keeper remember that the budget is 10k")
    for page in (alice_page, bob_page):
        await expect(page.get_by_role("button", name="Deny")).to_be_visible()
    await bob_page.get_by_role("button", name="Deny").click()

    alice_card = alice_page.locator(".approval")
    await expect(alice_card.locator(".approval-status")).to_have_text("Denied by Bob")
    await expect(alice_card.get_by_role("button")).to_have_count(0)
    await expect(bob_page.locator(".approval .approval-status")).to_have_text("Denied by you")
    await alice_page.screenshot(path=str(artifacts / "approval-decided-by-another.png"))
    rows = await wait_for_messages(alice_page, 2)
    assert rows[1]["author"] == "Keeper" and "approval_denied" in rows[1]["content"]


async def test_a_failed_turn_says_why(
    browser: Any, live_server: LiveServer, client: Client, artifacts: Path
) -> None:
    erin = await client.register("Erin")
    # This server has no OpenAI key: a turn of an agent on OpenAI fails, with the reason.
    agent = await client.call(
        "POST", "/agents", erin["token"], json={"name": "Cloud", "model": "openai:gpt-4o-mini"}
    )
    conversation = await client.call(
        "POST",
        "/conversations",
        erin["token"],
        json={"title": "Fails", "participants": [{"kind": "agent", "agent_id": agent["id"]}]},
    )
    page = await signed_in_room(browser, live_server.url, erin, conversation["id"])

    await send(page, "hello there")
    rows = await wait_for_messages(page, 2)
    assert rows[1]["status"] == "failed"
    reason = page.locator(".transcript > li.status-failed .turn-error")
    await expect(reason).to_contain_text("Failed:")
    await expect(reason).to_contain_text("OPENAI_API_KEY")
    await page.screenshot(path=str(artifacts / "turn-failed-reason.png"))
    await page.reload()
    await open_room(page, live_server.url, conversation["id"])
    await expect(reason).to_contain_text("OPENAI_API_KEY")


async def test_tool_calls_and_hand_offs_are_still_shown_after_a_reload(
    browser: Any, live_server: LiveServer, client: Client, artifacts: Path
) -> None:
    erin = await client.register("Erin")
    keeper, conversation_id = await keeper_room(client, erin)
    scribe = await client.call(
        "POST",
        "/agents",
        erin["token"],
        json={"name": "Scribe", "handle": "scribe", "model": f"{SLOW_PROVIDER}:20"},
    )
    await client.call(
        "PATCH", f"/agents/{keeper['id']}", erin["token"], json={"delegates_to": [scribe["id"]]}
    )
    page = await signed_in_room(browser, live_server.url, erin, conversation_id)
    await send(page, "@keeper remember that the venue is the harbour hall")
    await page.get_by_role("button", name="Approve").click()
    await wait_for_messages(page, 2)
    await send(page, "@keeper /delegate @scribe draft a tagline for the launch")
    await expect(page.locator(".transcript > li.nested")).to_have_count(1)
    await expect(page.locator(".live > li")).to_have_count(0)

    await page.reload()
    await open_room(page, live_server.url, conversation_id)
    keeper_rows = page.locator(".transcript > li.msg-agent:not(.nested)")
    await expect(keeper_rows).to_have_count(2)
    remembered, delegating = keeper_rows.nth(0), keeper_rows.nth(1)
    summary = remembered.locator(".activity > summary")
    await expect(summary).to_have_text("1 tool call")
    await summary.click()
    tool = remembered.locator(".tool.status-ok")
    await tool.locator("summary").click()
    await expect(tool.locator(".approval-outcome")).to_have_text("Approved by you")
    await expect(tool.locator("pre").first).to_contain_text("the venue is the harbour hall")

    await expect(delegating.locator(".activity > summary")).to_have_text(
        "1 tool call, 1 delegation"
    )
    await delegating.locator(".activity > summary").click()
    await expect(delegating.locator(".delegation")).to_have_text("↳ Delegated to @scribe")
    nested = page.locator(".transcript > li.nested")
    await expect(nested.locator(".author")).to_have_text("Scribe")
    await expect(nested.locator(".via")).to_have_text("delegated by Keeper")
    await page.screenshot(path=str(artifacts / "activity-after-reload.png"), full_page=True)
