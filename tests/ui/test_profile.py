"""The profile page: change the name and the avatar, and revoke another device's session (that
device is signed out at once)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect

from tests.support.files import png
from tests.ui.conftest import Client, LiveServer
from tests.ui.helpers import sign_in

pytestmark = pytest.mark.browser


async def test_the_profile_page_edits_name_and_avatar_and_revokes_a_session(
    live_server: LiveServer, client: Client, browser, artifacts: Path
) -> None:
    alice = await client.register("Alice")
    laptop = await (await browser.new_context()).new_page()
    phone = await (await browser.new_context(user_agent="Alice's phone")).new_page()
    await sign_in(laptop, live_server.url, alice)
    await sign_in(phone, live_server.url, alice)

    await laptop.get_by_role("link", name="Profile").click()
    await expect(laptop.get_by_role("heading", name="Your profile")).to_be_visible()
    await laptop.get_by_label("Name").fill("Alice Liddell")
    await laptop.get_by_label("Company").fill("Wonderland Ltd")
    await laptop.get_by_label("Email", exact=True).check()
    await laptop.get_by_role("button", name="Save details").click()
    await expect(laptop.locator(".whoami")).to_have_text("Alice Liddell")

    await laptop.get_by_label("Choose an image").set_input_files(
        {"name": "me.png", "mimeType": "image/png", "buffer": png(64, 64, (220, 90, 40))}
    )
    avatar = laptop.get_by_role("img", name="Your avatar")
    await expect(avatar).to_have_attribute("src", re.compile(r"^data:image/png;base64,"))

    sessions = laptop.get_by_role("list", name="Signed-in sessions")
    phone_row = sessions.get_by_role("listitem").filter(has_text="Alice's phone")
    await expect(phone_row).to_be_visible()
    await expect(sessions.get_by_role("listitem")).to_have_count(3)  # the client's own sign-up too
    await laptop.screenshot(path=str(artifacts / "profile.png"), full_page=True)
    await phone_row.get_by_role("button", name="Revoke").click()
    await expect(phone_row).to_have_count(0)

    # The phone is signed out: its socket is closed and its next request is refused.
    await phone.reload()
    await expect(phone.get_by_role("button", name="Sign in")).to_be_visible()

    async with httpx.AsyncClient(base_url=live_server.url) as http:
        me = (
            await http.get("/api/me/profile", headers={"Authorization": f"Bearer {alice['token']}"})
        ).json()
    assert (me["name"], me["company"], me["communication_preferences"]["email"]) == (
        "Alice Liddell",
        "Wonderland Ltd",
        True,
    )
    assert me["image"].startswith(f"/api/users/{alice['id']}/avatar")
    await laptop.reload()
    await expect(laptop.get_by_role("img", name="Your avatar")).to_have_attribute(
        "src", re.compile(r"^data:image/png")
    )
