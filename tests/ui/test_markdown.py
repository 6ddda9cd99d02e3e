"""Messages rendered as markdown, seen by two people: formatting, a highlighted code block and
its copy button, a neutralised `javascript:` link, typed HTML shown as text, the copy button of
a message (its raw text), the offline model's `/help` and a tool result told in words.
Screenshots in light and dark, wide and at phone width."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.ui.conftest import Client, LiveServer
from tests.ui.helpers import open_room, send, sign_in, wait_for_messages

pytestmark = pytest.mark.browser

CODE = 'def greet(name):\n    return f"hello {name}"  # friendly'
MARKDOWN = (
    "Release **checklist** for _Friday_:\n\n"
    "1. Run the tests\n"
    "2. Tag `v1.2`\n\n"
    f"```python\n{CODE}\n```\n\n"
    "Read [the docs](https://example.com/docs) but not [this one](javascript:alert(1)) "
    "nor [that](data:text/html,<b>x</b>).\n\n"
    "<img src=x onerror=alert(1)> stays text."
)


async def room(client: Client) -> tuple[dict[str, Any], dict[str, Any], str, dict[str, Any]]:
    alice, bob = await client.register("Alice"), await client.register("Bob")
    agent = await client.call(
        "POST",
        "/agents",
        alice["token"],
        json={
            "name": "Guide",
            "handle": "guide",
            "description": "Knows the release",
            "model": "offline:default",
        },
    )
    for tool in ("remember", "recall"):
        await client.call("PUT", f"/agents/{agent['id']}/tools/{tool}", alice["token"], json={})
    conversation = await client.call(
        "POST",
        "/conversations",
        alice["token"],
        json={
            "title": "Release room",
            "participants": [
                {"kind": "user", "user_id": bob["id"]},
                {"kind": "agent", "agent_id": agent["id"]},
            ],
        },
    )
    return alice, bob, conversation["id"], agent


async def person(
    browser: Any, live_server: LiveServer, user: dict[str, Any], room_id: str, **options: Any
) -> Page:
    context = await browser.new_context(**options)
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = await context.new_page()
    await sign_in(page, live_server.url, user)
    await open_room(page, live_server.url, room_id)
    return page


async def clipboard(page: Page) -> str:
    return await page.evaluate("() => navigator.clipboard.readText()")


async def test_markdown_renders_safely_for_both_and_copies(
    browser: Any, live_server: LiveServer, client: Client, artifacts: Path
) -> None:
    alice, bob, room_id, _ = await room(client)
    wide = {"viewport": {"width": 1280, "height": 900}}
    alice_page = await person(browser, live_server, alice, room_id, **wide)
    bob_page = await person(browser, live_server, bob, room_id, **wide)

    await send(alice_page, MARKDOWN)
    for page in (alice_page, bob_page):
        await wait_for_messages(page, 2)  # the room's one agent answers every message
        body = page.locator('.transcript > li[data-seq="1"] .body')
        await expect(body.locator("strong")).to_have_text("checklist")
        await expect(body.locator("em")).to_have_text("Friday")
        await expect(body.locator("ol > li")).to_have_count(2)
        await expect(body.locator(":not(pre) > code")).to_have_text("v1.2")
        code = body.locator(".codeblock pre code.language-python")
        await expect(code).to_have_text(CODE)
        await expect(code.locator(".hljs-keyword").first).to_have_text("def")
        await expect(code.locator(".hljs-string").first).to_contain_text("hello")
        docs = body.get_by_role("link", name="the docs")
        await expect(docs).to_have_attribute("href", "https://example.com/docs")
        await expect(docs).to_have_attribute("target", "_blank")
        await expect(docs).to_have_attribute("rel", "noopener noreferrer")
        # Unsafe links keep their words and lose their address; typed HTML is only text.
        for words in ("this one", "that"):
            unsafe = body.locator("a", has_text=words)
            await expect(unsafe).to_have_count(1)
            assert await unsafe.get_attribute("href") is None
        await expect(body.locator("img")).to_have_count(0)
        await expect(body).to_contain_text("<img src=x onerror=alert(1)> stays text.")

    # Bob copies the code block, then the whole message: the code, then the raw markdown.
    message = bob_page.locator('.transcript > li[data-seq="1"]')
    copy_code = message.get_by_role("button", name="Copy python code")
    await copy_code.click()
    await expect(copy_code).to_have_attribute("data-state", "copied")
    assert await clipboard(bob_page) == CODE
    await message.get_by_role("button", name="Copy message text").click()
    await expect(message.locator(".msg-copy")).to_have_text("Copied")
    assert await clipboard(bob_page) == MARKDOWN

    # The offline model's help is markdown too; a memory tool's result reads as words.
    await send(alice_page, "@guide /help")
    await wait_for_messages(bob_page, 4)
    help_body = bob_page.locator('.transcript > li[data-seq="4"] .body')
    await expect(help_body.locator("strong").first).to_have_text("Guide (offline)")
    await expect(help_body.locator("ul > li").first).to_be_visible()
    await expect(help_body).to_contain_text("remember that <fact>")
    await send(alice_page, "@guide please remember that the release is on Friday")
    rows = await wait_for_messages(bob_page, 6)
    assert rows[5]["author"] == "Guide" and "remember returned remembered:" in rows[5]["content"]
    assert "\\" not in rows[5]["content"] and "{" not in rows[5]["content"]
    reply = bob_page.locator('.transcript > li[data-seq="6"]')
    await reply.locator(".activity > summary").click()
    tool = reply.locator(".tool")
    await tool.locator("summary").first.click()
    await tool.locator(".tool-detail").wait_for()
    result = tool.locator(".tool-result")
    await expect(result.locator("dt")).to_have_text(["remembered", "scope"])
    await expect(result.locator("dd").nth(1)).to_have_text("user")
    assert "{" not in (await result.text_content() or "")

    # The code block in view (the top of the transcript), then the help and the tool result.
    await bob_page.evaluate("() => { document.querySelector('.scroller').scrollTop = 0; }")
    await bob_page.screenshot(path=str(artifacts / "room-markdown.png"))
    await bob_page.emulate_media(color_scheme="dark")
    await bob_page.screenshot(path=str(artifacts / "room-markdown-dark.png"))
    await reply.scroll_into_view_if_needed()
    await bob_page.screenshot(path=str(artifacts / "room-markdown-tool-result-dark.png"))

    phone = await person(
        browser,
        live_server,
        bob,
        room_id,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    await wait_for_messages(phone, 6)
    phone_code = phone.locator('.transcript > li[data-seq="1"] .codeblock')
    await phone_code.scroll_into_view_if_needed()
    # A long line scrolls inside its block; the page itself never gets wider than the phone.
    assert await phone.evaluate("() => document.documentElement.scrollWidth") <= 390
    await phone.screenshot(path=str(artifacts / "room-markdown-phone.png"))
    await phone.emulate_media(color_scheme="dark")
    await phone.screenshot(path=str(artifacts / "room-markdown-phone-dark.png"))


async def test_a_reply_streams_as_markdown_into_one_element(
    browser: Any, live_server: LiveServer, client: Client
) -> None:
    """While it streams, the reply is re-rendered in place: the same element grows, its
    markdown already formatted, and the transcript around it is never rebuilt."""
    alice, _, room_id, agent = await room(client)
    await client.call(
        "PATCH", f"/agents/{agent['id']}", alice["token"], json={"model": "slowoffline:40"}
    )
    page = await person(browser, live_server, alice, room_id)
    await send(page, "first message, to have something above")
    await wait_for_messages(page, 2)
    await page.evaluate(
        """() => {
          window.__first = document.querySelector('.transcript > li[data-seq="1"]');
          window.__bodies = new Set();
          window.__formatted = false;
          new MutationObserver(() => {
            const body = document.querySelector('.live .msg.streaming .body');
            if (!body) return;
            window.__bodies.add(body);
            if (body.querySelector('strong')) window.__formatted = true;
          }).observe(document.querySelector('.live'), {childList: true, subtree: true});
        }"""
    )
    await send(page, "@guide /help")
    rows = await wait_for_messages(page, 4)
    assert rows[3]["author"] == "Guide"
    assert await page.evaluate("() => window.__bodies.size") == 1
    assert await page.evaluate("() => window.__formatted") is True
    assert await page.evaluate(
        """() => window.__first === document.querySelector('.transcript > li[data-seq="1"]')"""
    )
