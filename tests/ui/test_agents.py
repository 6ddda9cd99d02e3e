"""Someone new signs up, creates an agent in the UI, and it answers in a new conversation;
the room works on a phone-sized screen too."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.ui.conftest import Client, LiveServer
from tests.ui.helpers import assert_well_formed, open_room, sign_in, wait_for_messages

pytestmark = pytest.mark.browser

OFFLINE_BANNER = "Offline model: replies come from the built-in offline model, not a real LLM"


async def test_agent_created_in_the_ui_answers_in_a_new_conversation(
    browser: Any, live_server: LiveServer, artifacts: Path
) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 860})
    page = await context.new_page()
    await page.goto(f"{live_server.url}/")
    await expect(page.get_by_role("heading", name="Sign in to Elevate")).to_be_visible()
    await expect(page.get_by_text(OFFLINE_BANNER)).to_be_visible()

    await page.get_by_role("link", name="Create an account").click()
    await page.get_by_label("Name").fill("Carol")
    await page.get_by_label("Email").fill("carol@example.test")
    await page.get_by_label("Password").fill("a long enough password")
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("heading", name="Conversations")).to_be_visible()

    await page.get_by_role("link", name="Agents").click()
    await page.get_by_role("link", name="New agent").click()
    await page.get_by_label("Name", exact=True).fill("Poet")
    await page.get_by_label("Handle").fill("poet")
    await page.get_by_label("Description").fill("Writes short poems")
    await page.get_by_label("Instructions").fill("Answer in verse.")
    await page.get_by_label("Personality").fill("Gentle")
    await page.get_by_role("button", name="Create agent").click()
    await expect(page.get_by_role("heading", name="Edit Poet")).to_be_visible()
    await expect(page.get_by_role("heading", name="Tools")).to_be_visible()
    await expect(page.get_by_role("heading", name="Memories")).to_be_visible()
    await page.screenshot(path=str(artifacts / "agent-editor.png"), full_page=True)

    await page.get_by_role("link", name="New", exact=True).click()
    await page.get_by_label("Title").fill("Poetry hour")
    await page.get_by_role("checkbox", name=re.compile("Poet")).check()
    await page.get_by_role("button", name="Create conversation").click()
    composer = page.get_by_role("combobox", name="Message")
    await expect(composer).to_be_focused()
    await page.wait_for_function("() => window.elevate.socket?.state === 'ready'")

    # @mention autocomplete, by keyboard only.
    await composer.press_sequentially("@po")
    option = page.get_by_role("option", name=re.compile("@poet"))
    await expect(option).to_be_visible()
    await expect(option).to_have_attribute("aria-selected", "true")
    await composer.press("Tab")
    await expect(composer).to_have_value("@poet ")
    await composer.press_sequentially("write about the sea at night")
    await composer.press("Enter")

    rows = await wait_for_messages(page, 2)
    assert_well_formed(rows)
    assert rows[0]["content"] == "@poet write about the sea at night"
    assert rows[1]["author"] == "Poet"
    assert rows[1]["content"].startswith("Poet (offline): I read your message")
    await expect(page.get_by_role("button", name="Stop the agent's reply")).to_be_hidden()
    await page.screenshot(path=str(artifacts / "room.png"), full_page=True)


async def test_room_on_a_phone_sized_screen(
    browser: Any, live_server: LiveServer, client: Client, artifacts: Path
) -> None:
    dana = await client.register("Dana")
    agent = await client.call(
        "POST", "/agents", dana["token"], json={"name": "Guide", "handle": "guide"}
    )
    conversation = await client.call(
        "POST",
        "/conversations",
        dana["token"],
        json={"title": "On the go", "participants": [{"kind": "agent", "agent_id": agent["id"]}]},
    )
    context = await browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = await context.new_page()
    await sign_in(page, live_server.url, dana)
    await open_room(page, live_server.url, conversation["id"])
    composer = page.get_by_role("combobox", name="Message")
    await composer.fill("a question long enough to wrap on a narrow screen, about trains")
    await page.get_by_role("button", name="Send").click()
    rows = await wait_for_messages(page, 2)
    assert rows[1]["author"] == "Guide"

    assert await page.evaluate("() => document.documentElement.scrollWidth") <= 390
    await expect(composer).to_be_in_viewport()
    await expect(page.get_by_role("button", name="Send")).to_be_in_viewport()
    await page.screenshot(path=str(artifacts / "room-phone.png"))


async def test_someone_elses_agent_shows_its_profile_not_its_definition(
    browser: Any, live_server: LiveServer, client: Client
) -> None:
    """A non-editor opens another user's agent: the page works and shows who it is and what
    tools it uses, not its instructions or the grant's fixed arguments."""
    owner, visitor = await client.register("Olive"), await client.register("Vic")
    agent = await client.call(
        "POST",
        "/agents",
        owner["token"],
        json={
            "name": "Ledger",
            "handle": "ledger",
            "description": "Keeps the books",
            "instructions": "The vault code is 4242.",
        },
    )
    await client.call(
        "PUT",
        f"/agents/{agent['id']}/tools/recall",
        owner["token"],
        json={"config": {"fixed_args": {"limit": 7}}},
    )
    context = await browser.new_context(viewport={"width": 1280, "height": 860})
    page = await context.new_page()
    await sign_in(page, live_server.url, visitor)
    await page.goto(f"{live_server.url}/#/agents/{agent['id']}")
    await expect(page.get_by_role("heading", name="Edit Ledger")).to_be_visible()
    await expect(page.get_by_label("Description")).to_have_value("Keeps the books")
    await expect(
        page.get_by_text("Only its creator or staff can see its instructions")
    ).to_be_visible()
    await expect(page.get_by_label("Instructions")).to_have_count(0)
    await expect(page.get_by_role("button", name="Save changes")).to_have_count(0)
    tools = page.locator(".tool-grants")
    await expect(tools.get_by_text("recall")).to_be_visible()
    await expect(page.get_by_role("heading", name="Memories")).to_be_visible()
    body = await page.locator("main").inner_text()
    assert "4242" not in body and '"limit": 7' not in body
    await context.close()
