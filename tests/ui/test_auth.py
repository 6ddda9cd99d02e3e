"""Signing up in the browser: refused passwords and addresses are explained on the page, the
page runs under its strict Content-Security-Policy, and signing out in one tab ends the
other tab's live connection."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.ui.conftest import Client, LiveServer
from tests.ui.helpers import sign_in

pytestmark = pytest.mark.browser


async def test_sign_up_explains_weak_passwords_and_bad_addresses(
    browser: Any, live_server: LiveServer, client: Client
) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    violations: list[str] = []
    page.on(
        "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
    )
    await page.goto(f"{live_server.url}/#/register")
    await page.get_by_label("Name").fill("Dana")
    await page.get_by_label("Email").fill("dana@b")
    await page.get_by_label("Password").fill("a long enough password")
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_text("Enter a valid email address")).to_be_visible()
    await expect(page.get_by_label("Email")).to_be_focused()

    await page.get_by_label("Email").fill("dana@example.test")
    await page.get_by_label("Password").fill("password")
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_text("This is a top-10 common password")).to_be_visible()
    await expect(page.get_by_label("Password")).to_be_focused()

    taken = await client.register("Erin")
    await page.get_by_label("Email").fill(taken["email"])
    await page.get_by_label("Password").fill("another fine passphrase")
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_text("if you already have one, sign in instead")).to_be_visible()
    assert taken["email"] not in await page.locator("main").inner_text()

    await page.get_by_label("Email").fill("dana@example.test")
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("heading", name="Conversations")).to_be_visible()
    assert violations == []
    await context.close()


async def test_signing_out_in_one_tab_closes_the_other_tabs_socket(
    browser: Any, live_server: LiveServer, client: Client
) -> None:
    frank = await client.register("Frank")
    context = await browser.new_context()
    first, second = await context.new_page(), await context.new_page()
    await sign_in(first, live_server.url, frank)
    await second.goto(f"{live_server.url}/")
    await expect(second.get_by_role("heading", name="Conversations")).to_be_visible()
    await second.wait_for_function("() => window.elevate.socket?.state === 'ready'")
    await first.get_by_role("button", name="Sign out").click()
    await expect(first.get_by_role("heading", name="Sign in to Elevate")).to_be_visible()
    # The second tab sent nothing; the server closed its socket when the token was revoked,
    # and the page took the person to the sign-in form.
    await expect(second.get_by_role("heading", name="Sign in to Elevate")).to_be_visible()
    await context.close()
