"""Two people in a room: an edit and a delete show live on the other page and survive a
reload; regenerate keeps both versions and the page switches between them; search finds a
message and opens the room at it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from runtime.testing import SLOW_OFFLINE_PROVIDER as SLOW_PROVIDER
from tests.ui.conftest import Client, LiveServer
from tests.ui.helpers import open_room, send, sign_in, wait_for_messages

pytestmark = pytest.mark.browser


async def _room(client: Client, *, agent: bool = False) -> tuple[dict, dict, str]:
    alice = await client.register("Alice")
    bob = await client.register("Bob")
    participants: list[dict[str, Any]] = [{"kind": "user", "user_id": bob["id"]}]
    if agent:
        helper = await client.call(
            "POST",
            "/agents",
            alice["token"],
            json={
                "name": "Helper",
                "handle": "helper",
                "description": "Answers questions",
                "model": f"{SLOW_PROVIDER}:0",
            },
        )
        participants.append({"kind": "agent", "agent_id": helper["id"]})
    room = await client.call(
        "POST",
        "/conversations",
        alice["token"],
        json={"title": "Launch planning", "participants": participants},
    )
    return alice, bob, room["id"]


async def _two_pages(browser: Any, base_url: str, alice: dict, bob: dict) -> tuple[Page, Page]:
    pages = []
    for user in (alice, bob):
        page = await (await browser.new_context()).new_page()
        await sign_in(page, base_url, user)
        pages.append(page)
    return pages[0], pages[1]


def _message(page: Page, seq: int) -> Any:
    return page.locator(f'.transcript > li[data-seq="{seq}"]')


async def test_an_edit_and_a_delete_show_live_and_survive_a_reload(
    browser: Any, live_server: LiveServer, client: Client, artifacts: Path
) -> None:
    alice, bob, room = await _room(client)
    a, b = await _two_pages(browser, live_server.url, alice, bob)
    await open_room(a, live_server.url, room)
    await open_room(b, live_server.url, room)
    await send(a, "We launch on Monday")
    await send(a, "The password is hunter2")
    await wait_for_messages(b, 2)
    # Bob may not change Alice's messages: no buttons for him.
    await expect(_message(b, 1).get_by_role("button", name="Edit")).to_have_count(0)

    await _message(a, 1).get_by_role("button", name="Edit").click()
    editor = _message(a, 1).get_by_role("textbox", name="Edit message")
    await editor.fill("We launch on Tuesday")
    await editor.press("Enter")
    await expect(_message(b, 1).locator(".body")).to_have_text("We launch on Tuesday")
    await expect(_message(b, 1).locator(".edited")).to_have_text("(edited)")

    await _message(a, 2).get_by_role("button", name="Delete").click()
    await _message(a, 2).locator(".confirm-yes").click()
    await expect(_message(b, 2).locator(".body")).to_have_text("This message was deleted.")
    await expect(_message(a, 2).locator(".body")).to_have_text("This message was deleted.")
    await b.screenshot(path=str(artifacts / "message-edit-delete.png"))

    for page in (a, b):
        await page.reload()
        await expect(_message(page, 1).locator(".body")).to_have_text("We launch on Tuesday")
        await expect(_message(page, 1).locator(".edited")).to_be_visible()
        await expect(_message(page, 2).locator(".body")).to_have_text("This message was deleted.")
        assert "hunter2" not in await page.locator(".transcript").inner_text()
    # Edited while Bob's page was away: a resume brings the change too.
    await b.goto(f"{live_server.url}/#/")
    await client.call(
        "PATCH", f"/conversations/{room}/messages/1", alice["token"], json={"content": "Wednesday!"}
    )
    await open_room(b, live_server.url, room)
    await expect(_message(b, 1).locator(".body")).to_have_text("Wednesday!")


async def test_regenerate_keeps_both_versions_and_the_page_switches(
    browser: Any, live_server: LiveServer, client: Client, artifacts: Path
) -> None:
    alice, bob, room = await _room(client, agent=True)
    a, b = await _two_pages(browser, live_server.url, alice, bob)
    await open_room(a, live_server.url, room)
    await open_room(b, live_server.url, room)
    await send(a, "@helper plan the launch")
    await wait_for_messages(a, 2)
    first = (await _message(a, 2).locator(".body").inner_text()).strip()

    await _message(b, 2).get_by_role("button", name="Regenerate").click()
    # The new version (seq 4, after the request at 3) replaces the first in view, with 2/2.
    for page in (a, b):
        await expect(_message(page, 4)).to_be_visible()
        await expect(_message(page, 2)).to_be_hidden()
        await expect(_message(page, 4).locator(".version-count")).to_have_text("2/2")
    second = (await _message(a, 4).locator(".body").inner_text()).strip()
    assert second != first and "version 2" in second
    await a.screenshot(path=str(artifacts / "message-regenerate.png"))

    await _message(a, 4).get_by_role("button", name="Previous version").click()
    await expect(_message(a, 2)).to_be_visible()
    await expect(_message(a, 4)).to_be_hidden()
    await expect(_message(a, 2).locator(".version-count")).to_have_text("1/2")
    await expect(_message(a, 2).locator(".body")).to_have_text(first)
    await _message(a, 2).get_by_role("button", name="Next version").click()
    await expect(_message(a, 4).locator(".body")).to_have_text(second)

    await b.reload()
    await expect(_message(b, 4).locator(".version-count")).to_have_text("2/2")
    await expect(_message(b, 2)).to_be_hidden()


async def test_search_finds_a_message_and_opens_the_room_at_it(
    browser: Any, live_server: LiveServer, client: Client, artifacts: Path
) -> None:
    alice, bob, room = await _room(client)
    path = f"/conversations/{room}/messages"
    for i in range(60):
        await client.call("POST", path, alice["token"], json={"content": f"filler line {i}"})
    await client.call(
        "POST", path, bob["token"], json={"content": "The <b>zeppelin</b> budget is approved"}
    )
    for i in range(60):
        await client.call("POST", path, alice["token"], json={"content": f"more filler {i}"})
    # Alice's own private room: Bob must never see it.
    private = await client.call(
        "POST", "/conversations", alice["token"], json={"title": "Mine", "participants": []}
    )
    await client.call(
        "POST",
        f"/conversations/{private['id']}/messages",
        alice["token"],
        json={"content": "zeppelin secret"},
    )
    page = await (await browser.new_context(viewport={"width": 1100, "height": 800})).new_page()
    await sign_in(page, live_server.url, bob)
    box = page.get_by_role("searchbox", name="Search messages")
    await box.fill("zeppelin budg")
    await box.press("Enter")
    hits = page.locator(".search-hit")
    await expect(hits).to_have_count(1)
    await expect(hits.locator("mark")).to_have_text(["zeppelin", "budget"])
    # The text Bob typed is shown as text, not markup.
    await expect(hits.locator(".hit-snippet")).to_contain_text("<b>zeppelin</b>")
    await page.screenshot(path=str(artifacts / "search.png"))

    await hits.locator("a").click()
    target = _message(page, 61)
    await expect(target).to_have_class(re.compile(r"\bsearch-target\b"))
    await expect(target).to_be_in_viewport()
    await expect(target.locator(".body")).to_contain_text("zeppelin")
    await page.screenshot(path=str(artifacts / "search-opened.png"))
