"""Message tabs with two people and an observer: a tab and a tag set by one show on the other's
page live and survive a reload, the observer sees them without controls, and the room's filter
shows only the messages of a tab or a tag."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.ui.conftest import Client, LiveServer
from tests.ui.helpers import open_room, sign_in, wait_for_messages

pytestmark = pytest.mark.browser


async def person(browser: Any, live_server: LiveServer, user: dict[str, Any], room_id: str) -> Page:
    context = await browser.new_context(viewport={"width": 1280, "height": 860})
    page = await context.new_page()
    await sign_in(page, live_server.url, user)
    await open_room(page, live_server.url, room_id)
    return page


def message(page: Page, seq: int) -> Any:
    return page.locator(f'.transcript > li[data-seq="{seq}"]')


async def add_tag(page: Page, seq: int, tag: str) -> None:
    await message(page, seq).get_by_role("button", name="Add a tag").click()
    box = message(page, seq).get_by_role("textbox", name="New tag")
    await box.fill(tag)
    await box.press("Enter")


async def test_tabs_and_tags_show_live_survive_reload_and_filter(
    browser: Any, live_server: LiveServer, client: Client, artifacts: Path
) -> None:
    alice, bob, olga = [await client.register(n) for n in ("Alice", "Bob", "Olga")]
    conversation = await client.call(
        "POST",
        "/conversations",
        alice["token"],
        json={
            "title": "Launch board",
            "participants": [
                {"kind": "user", "user_id": bob["id"]},
                {"kind": "user", "user_id": olga["id"], "role": "observer"},
            ],
        },
    )
    room_id = conversation["id"]
    for text in ("Book the venue", "Write the release notes", "Order the banners"):
        await client.call(
            "POST", f"/conversations/{room_id}/messages", alice["token"], json={"content": text}
        )
    alice_page = await person(browser, live_server, alice, room_id)
    bob_page = await person(browser, live_server, bob, room_id)
    olga_page = await person(browser, live_server, olga, room_id)
    for page in (alice_page, bob_page, olga_page):
        await wait_for_messages(page, 3)

    # Alice puts the notes under "To do" and tags them; Bob and Olga see it without reloading.
    await message(alice_page, 2).get_by_role("combobox", name="Tab").select_option("todo")
    await add_tag(alice_page, 2, "release")
    await expect(message(bob_page, 2)).to_have_attribute("data-tab", "todo")
    await expect(message(bob_page, 2).get_by_role("combobox", name="Tab")).to_have_value("todo")
    await expect(message(bob_page, 2).locator(".tag-chip")).to_have_text(["release×"])
    await expect(message(olga_page, 2).locator(".tab-badge")).to_have_text("To do")
    await expect(message(olga_page, 2).locator(".tag-chip")).to_have_text(["release"])
    # An observer gets no controls.
    await expect(olga_page.get_by_role("combobox", name="Tab")).to_have_count(0)
    await expect(olga_page.get_by_role("button", name="Add a tag")).to_have_count(0)

    # Bob tags the banners; Alice sees it live.
    await message(bob_page, 3).get_by_role("combobox", name="Tab").select_option("done")
    await add_tag(bob_page, 3, "print")
    await expect(message(alice_page, 3)).to_have_attribute("data-tab", "done")
    await expect(message(alice_page, 3).locator(".tag-chip")).to_have_text(["print×"])

    # A reload shows what is stored.
    await bob_page.reload()
    await open_room(bob_page, live_server.url, room_id)
    await wait_for_messages(bob_page, 3)
    await expect(message(bob_page, 2)).to_have_attribute("data-tab", "todo")
    await expect(message(bob_page, 2).locator(".tag-chip")).to_have_text(["release×"])
    await expect(message(bob_page, 3)).to_have_attribute("data-tab", "done")
    await expect(message(bob_page, 1)).to_have_attribute("data-tab", "")

    # The filter: by tab, then by tag, then everything again.
    filters = bob_page.get_by_role("toolbar", name="Show messages by tab or tag")
    await filters.get_by_role("button", name="To do").click()
    await expect(message(bob_page, 2)).to_be_visible()
    await expect(message(bob_page, 1)).to_be_hidden()
    await expect(message(bob_page, 3)).to_be_hidden()
    await expect(filters.get_by_role("status")).to_have_text("1 of 3 shown")
    await bob_page.screenshot(path=str(artifacts / "room-tabs-filtered.png"))
    await filters.get_by_role("button", name="All").click()
    await filters.get_by_role("combobox", name="Filter by tag").select_option(label="print")
    await expect(message(bob_page, 3)).to_be_visible()
    await expect(message(bob_page, 2)).to_be_hidden()
    await filters.get_by_role("combobox", name="Filter by tag").select_option(label="All tags")
    for seq in (1, 2, 3):
        await expect(message(bob_page, seq)).to_be_visible()

    # A tag removed by Bob goes from Alice's page too, and the tab is cleared the same way.
    await message(bob_page, 2).get_by_role("button", name="Remove tag release").click()
    await message(bob_page, 2).get_by_role("combobox", name="Tab").select_option("")
    await expect(message(alice_page, 2).locator(".tag-chip")).to_have_count(0)
    await expect(message(alice_page, 2)).to_have_attribute("data-tab", "")
    await alice_page.screenshot(path=str(artifacts / "room-tabs.png"))
