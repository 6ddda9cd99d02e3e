"""The groups page: a group made in the browser, with a person and an agent added with roles;
the group's agent answers in a conversation started in the group, seen by both people."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect

from runtime.testing import SLOW_OFFLINE_PROVIDER
from tests.ui.conftest import Client, LiveServer
from tests.ui.helpers import send, sign_in

pytestmark = pytest.mark.browser


async def test_a_groups_agent_answers_in_the_groups_conversation(
    browser, live_server: LiveServer, client: Client, artifacts: Path
) -> None:
    alice, bob = await client.register("Alice"), await client.register("Bob")
    await client.call(
        "POST",
        "/agents",
        alice["token"],
        json={"name": "Planner", "handle": "planner", "model": f"{SLOW_OFFLINE_PROVIDER}:0"},
    )
    alice_ctx, bob_ctx = await browser.new_context(), await browser.new_context()
    try:
        a, b = await alice_ctx.new_page(), await bob_ctx.new_page()
        await sign_in(a, live_server.url, alice)
        await sign_in(b, live_server.url, bob)

        await a.get_by_role("link", name="Groups").click()
        await a.get_by_label("New group").fill("Launch team")
        await a.get_by_role("button", name="Create group").click()
        await expect(a.get_by_role("heading", name="Launch team")).to_be_visible()
        await a.get_by_label("Agent to add").select_option(label="Planner (@planner)")
        await a.get_by_role("button", name="Add agent").click()
        await expect(a.locator(".settings-person", has_text="Planner")).to_be_visible()
        await a.get_by_label("Role for the person").select_option("observer")
        await a.get_by_label("Find a person").fill("Bob")
        await a.get_by_role("button", name="Add Bob").click()
        bob_row = a.locator(".settings-person", has_text="Bob")
        await expect(bob_row.get_by_label("Role of Bob")).to_have_value("observer")
        await bob_row.get_by_label("Role of Bob").select_option("member")
        await expect(a.locator("#announcer")).to_have_text("Bob is now member")
        groups = await client.call("GET", "/groups", bob["token"])
        assert [(g["name"], g["role"]) for g in groups] == [("Launch team", "member")]
        await a.screenshot(path=str(artifacts / "group-page.png"), full_page=True)

        await a.get_by_role("link", name="New conversation in this group").click()
        assert await a.get_by_label("Group").locator("option:checked").inner_text() == "Launch team"
        await a.locator("input[name=title]").fill("Launch week")
        await a.get_by_role("button", name="Create conversation").click()
        await expect(a.locator(".room-title")).to_have_text("Launch week")
        await a.wait_for_function("() => window.elevate.socket?.state === 'ready'")
        await send(a, "What should we launch first?")
        reply = a.locator(".transcript > li", has=a.locator(".author", has_text="Planner"))
        await expect(reply.first).to_be_visible(timeout=20_000)

        # Bob, a member of the group, sees the room arrive in his list and the agent's answer.
        await expect(b.locator(".conversation-list li", has_text="Launch week")).to_be_visible()
        await b.locator(".conversation-list li", has_text="Launch week").get_by_role("link").click()
        bob_reply = b.locator(".transcript > li", has=b.locator(".author", has_text="Planner"))
        await expect(bob_reply.first).to_be_visible()
    finally:
        await alice_ctx.close()
        await bob_ctx.close()
