"""Two people and their conversation lists: a room one is added to appears without a reload,
with an unread count that opening it clears; the room's settings rename it live for both."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.ui.conftest import Client, LiveServer
from tests.ui.helpers import open_room, send, sign_in

pytestmark = pytest.mark.browser


def row(page, title: str):
    return page.locator(".conversation-list li", has_text=title)


async def test_added_room_appears_live_with_unread_and_rename_shows_for_both(
    browser, live_server: LiveServer, client: Client, artifacts: Path
) -> None:
    alice, bob = await client.register("Alice"), await client.register("Bob")
    mine = await client.call("POST", "/conversations", bob["token"], json={"title": "Bob's notes"})
    alice_ctx, bob_ctx = await browser.new_context(), await browser.new_context()
    try:
        a, b = await alice_ctx.new_page(), await bob_ctx.new_page()
        await sign_in(a, live_server.url, alice)
        await sign_in(b, live_server.url, bob)
        await b.wait_for_function("() => window.elevate.socket?.state === 'ready'")
        await expect(row(b, "Bob's notes")).to_be_visible()

        # Alice starts a room with Bob: it appears in Bob's list while he looks at it.
        room = await client.call(
            "POST",
            "/conversations",
            alice["token"],
            json={"title": "Pricing", "participants": [{"kind": "user", "user_id": bob["id"]}]},
        )
        await expect(row(b, "Pricing")).to_be_visible()
        await open_room(a, live_server.url, room["id"])
        await send(a, "Shall we raise the price?")
        await send(a, "It has not moved in a year.")
        await expect(row(b, "Pricing").locator(".unread-count")).to_have_text("2")
        await expect(row(b, "Pricing").locator(".conv-preview")).to_contain_text(
            "Alice: It has not moved in a year."
        )
        # The latest message first.
        await expect(b.locator(".conversation-list li").first).to_contain_text("Pricing")
        await expect(b.locator(".nav-badge").first).to_have_text("2")

        # Bob opens it: it is read, on the server too (so on his other devices).
        await row(b, "Pricing").get_by_role("link").click()
        await expect(b.get_by_role("combobox", name="Message")).to_be_visible()
        await b.wait_for_function("() => document.querySelectorAll('.transcript > li').length >= 2")
        state = None
        for _ in range(50):
            state = await client.call("GET", f"/conversations/{room['id']}/read", bob["token"])
            if state["unread"] == 0:
                break
            await b.wait_for_timeout(100)
        assert state == {
            "conversation_id": room["id"],
            "last_read_seq": 2,
            "unread": 0,
            "muted": False,
        }

        # Alice renames the room from its settings: both headings change, Bob's without reload.
        await a.get_by_role("button", name="Settings").click()
        panel = a.get_by_role("region", name="Conversation settings")
        await expect(panel).to_be_visible()
        await panel.get_by_label("Title").fill("Pricing 2027")
        await panel.get_by_role("button", name="Rename").click()
        await expect(a.locator(".room-title")).to_have_text("Pricing 2027")
        await expect(b.locator(".room-title")).to_have_text("Pricing 2027")
        await a.screenshot(path=str(artifacts / "room-settings.png"), full_page=True)

        # Bob is a member: he sees the settings but may not rename; he may mute.
        await b.get_by_role("button", name="Settings").click()
        bob_panel = b.get_by_role("region", name="Conversation settings")
        await expect(bob_panel.get_by_label("Title")).to_be_disabled()
        await expect(bob_panel.get_by_role("button", name="Rename")).to_have_count(0)
        await bob_panel.get_by_label("Mute notifications (unread is still counted)").check()
        state = None
        for _ in range(50):
            state = await client.call("GET", f"/conversations/{room['id']}/read", bob["token"])
            if state["muted"]:
                break
            await b.wait_for_timeout(100)
        assert state["muted"] is True

        # Alice makes Bob an observer from the panel: his role changes on the server.
        await panel.get_by_label("Role of Bob").select_option("observer")
        conversation = None
        for _ in range(50):
            conversation = await client.call("GET", f"/conversations/{room['id']}", bob["token"])
            if conversation["role"] == "observer":
                break
            await a.wait_for_timeout(100)
        assert conversation["role"] == "observer"

        # Back on his list, Bob sees the new title; his own room is untouched.
        await b.goto(f"{live_server.url}/#/")
        await expect(row(b, "Pricing 2027")).to_be_visible()
        await expect(row(b, "Pricing 2027").locator(".unread-count")).to_have_count(0)
        await expect(row(b, mine["title"])).to_be_visible()
        await b.screenshot(path=str(artifacts / "conversation-list.png"), full_page=True)
    finally:
        await alice_ctx.close()
        await bob_ctx.close()
