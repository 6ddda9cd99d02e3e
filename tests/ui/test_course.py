"""The course in Chromium: a new student signs up, fills the Foundation, opens Hook, runs a
playbook prompt (missing context first, then filled), saves the result as an asset, ticks the
checklist, and sees the module In Progress on the course map. Screenshots are kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect

from tests.ui.conftest import LiveServer
from tests.ui.helpers import send, sign_in


async def sign_up(page: Page, base_url: str) -> None:
    await page.goto(f"{base_url}/#/register")
    await page.get_by_label("Name").fill("Robin")
    await page.get_by_label("Email").fill("robin@example.test")
    await page.get_by_label("Password").fill("correct horse battery")
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("heading", name="Conversations")).to_be_visible()


async def open_hook(page: Page) -> None:
    await page.get_by_role("link", name="Course", exact=True).click()
    await expect(page.get_by_role("heading", name="Your course", exact=True)).to_be_visible()
    await page.get_by_role("link", name="Hook: stop the scroll").click()
    await expect(page.get_by_role("heading", name="Hook: stop the scroll")).to_be_visible()


async def shoot(page: Page, path: Path) -> None:
    """The whole page: `main` scrolls inside a viewport-high body, so grow the viewport."""
    size = page.viewport_size
    height = await page.evaluate("() => document.querySelector('main').scrollHeight + 120")
    await page.set_viewport_size({"width": size["width"], "height": min(height, 8000)})
    await page.screenshot(path=str(path))
    await page.set_viewport_size(size)


async def test_student_runs_a_hook_prompt_and_saves_an_asset(
    browser: Any, live_server: LiveServer, artifacts: Path
) -> None:
    page = await browser.new_page(viewport={"width": 1200, "height": 900})
    await sign_up(page, live_server.url)
    await open_hook(page)
    h1 = page.locator("article.prompt[data-code='H1']")
    await expect(h1.locator("li.missing[data-path='customer_avatar.pains']")).to_be_visible()
    await h1.get_by_role("button", name="Run H1").click()
    await expect(h1.get_by_role("alert")).to_contain_text("Customer pains")
    await expect(h1.get_by_role("alert")).to_contain_text("Unique mechanism")

    await h1.get_by_role("link", name="Fill Customer pains").click()
    await expect(page.get_by_role("heading", name="Your Foundation", exact=True)).to_be_visible()
    await expect(page.get_by_label("Customer pains")).to_be_focused()
    await page.get_by_label("Customer pains").fill(
        "My coffee tastes flat by day ten\nI forget to reorder until I run out"
    )
    await page.get_by_label("Unique mechanism").fill("Roasted to order, shipped within 48 hours")
    await page.get_by_label("Brand voice").fill("warm\nplain-spoken")
    await page.get_by_label("Business name").fill("Northfield Roasters")
    await page.get_by_role("button", name="Save Foundation").click()
    await expect(page.get_by_role("heading", name="History")).to_be_visible()
    await expect(page.get_by_text("Version 1", exact=True)).to_be_visible()

    await open_hook(page)
    h1 = page.locator("article.prompt[data-code='H1']")
    await expect(h1.locator("li.filled[data-path='customer_avatar.pains']")).to_be_visible()
    await h1.get_by_role("button", name="Run H1").click()
    await expect(h1.get_by_role("status").first).to_have_text("Done", timeout=30_000)
    output = h1.locator("pre.run-output")
    await expect(output).to_contain_text("offline draft")
    await expect(output).to_contain_text("My coffee tastes flat by day ten")
    await expect(page.locator(".module-status")).to_contain_text("In Progress")

    await h1.get_by_label("Channel").fill("Facebook Ads")
    await h1.get_by_role("button", name="Save as asset").click()
    await expect(h1.get_by_text("Saved to your assets")).to_be_visible()
    assets = page.get_by_role("list", name="Assets of this step")
    await expect(assets).to_contain_text("Headline")
    await expect(assets).to_contain_text("Facebook Ads")

    await page.wait_for_function("() => window.elevate.socket?.state === 'ready'")
    await send(page, "Which hook angle should I test first?")
    room = page.locator(".module-room .transcript")
    await expect(room).to_contain_text("Hook Coach (offline)", timeout=30_000)

    await page.get_by_label("Twenty hooks drafted across the four angles").check()
    await expect(page.get_by_role("status").filter(has_text="Ticked")).to_have_count(0)
    await shoot(page, artifacts / "course-module.png")

    await page.get_by_role("link", name="← Course map").click()
    hook = page.locator(".module-card[data-step='Hook']")
    await expect(hook).to_have_attribute("data-status", "In Progress")
    await expect(hook).to_contain_text("1 of 5 checklist items")
    await expect(page.locator(".module-card[data-step='Gift']")).to_contain_text("Not Started")
    await expect(page.get_by_role("link", name="Continue: Hook")).to_be_visible()
    await shoot(page, artifacts / "course-map.png")

    await page.get_by_role("link", name="Assets").first.click()
    await expect(page.get_by_role("heading", name="Your assets")).to_be_visible()
    await expect(page.get_by_role("form", name="Headline (Hook)")).to_be_visible()


async def test_staff_edit_a_prompt_and_add_one_from_the_module_page(
    browser: Any, live_server: LiveServer
) -> None:
    from store.db import Database
    from store.users import Users

    db = Database(live_server.settings.database_url)
    try:
        await Users(db).create("owner@example.test", "Owner", "correct horse", is_staff=True)
    finally:
        await db.close()
    page = await browser.new_page(viewport={"width": 1200, "height": 900})
    await sign_in(
        page, live_server.url, {"email": "owner@example.test", "password": "correct horse"}
    )
    await open_hook(page)
    h2 = page.locator("article.prompt[data-code='H2']")
    await h2.get_by_text("Edit H2 (staff)").click()
    await h2.get_by_label("Title").fill("Ad openers that earn the click")
    await h2.get_by_role("button", name="Save (staff)").click()
    await expect(page.locator("article.prompt[data-code='H2'] h3")).to_contain_text(
        "Ad openers that earn the click"
    )

    adder = page.locator("details.staff").filter(has_text="Add a prompt to Hook")
    await adder.get_by_text("Add a prompt to Hook (staff)").click()
    await adder.get_by_label("Code (e.g. H4)").fill("H4")
    await adder.get_by_label("Title").fill("Hooks from reviews")
    await adder.get_by_label("Description").fill("Turn review quotes into hooks.")
    await adder.get_by_label("ROCKET template").fill("Role: r\nObjective: o\nContext: c")
    await adder.get_by_role("button", name="Save (staff)").click()
    await expect(adder.get_by_role("alert")).to_contain_text("Key constraints")
    await adder.get_by_label("ROCKET template").fill(
        "Role: r\nObjective: o\nContext: {customer_avatar.pains}\nKey constraints: k\n"
        "Examples: e\nTone: t"
    )
    await adder.get_by_role("button", name="Save (staff)").click()
    await expect(page.locator("article.prompt[data-code='H4']")).to_be_visible()
