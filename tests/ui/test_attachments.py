"""Two people in a room with an agent: one attaches an image and a PDF, the agent's reply names
them (offline model: each file with its size or page count), and the other person sees the
thumbnail and the file chips and downloads the PDF."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.support.files import pdf, png
from tests.ui.conftest import Client, LiveServer
from tests.ui.helpers import open_room, send, sign_in

pytestmark = pytest.mark.browser


async def test_an_image_and_a_pdf_reach_the_agent_and_the_other_person(
    live_server: LiveServer, client: Client, browser, artifacts: Path
) -> None:
    alice = await client.register("Alice")
    bob = await client.register("Bob")
    agent = await client.call(
        "POST",
        "/agents",
        alice["token"],
        json={"name": "Reader", "handle": "reader", "model": "offline:default"},
    )
    room = await client.call(
        "POST",
        "/conversations",
        alice["token"],
        json={
            "title": "Quarterly review",
            "participants": [
                {"kind": "user", "user_id": bob["id"]},
                {"kind": "agent", "agent_id": agent["id"]},
            ],
        },
    )
    image, document = png(40, 30, (40, 120, 220)), pdf(["Revenue grew", "Costs fell", "Plan"])
    alice_page = await (await browser.new_context()).new_page()
    bob_page = await (await browser.new_context(accept_downloads=True)).new_page()
    await sign_in(alice_page, live_server.url, alice)
    await sign_in(bob_page, live_server.url, bob)
    await open_room(alice_page, live_server.url, room["id"])
    await open_room(bob_page, live_server.url, room["id"])

    await alice_page.locator(".attach-tray input[type=file]").set_input_files(
        [
            {"name": "chart.png", "mimeType": "image/png", "buffer": image},
            {"name": "review.pdf", "mimeType": "application/pdf", "buffer": document},
        ]
    )
    tray = alice_page.get_by_role("list", name="Files to send")
    await expect(tray.get_by_text("PDF, 3 pages")).to_be_visible()
    await expect(tray.get_by_text(f"image, {len(image)} B")).to_be_visible()
    await alice_page.screenshot(path=str(artifacts / "attachments-tray.png"))
    await send(alice_page, "@reader what do these say?")

    kb = f"{len(document) / 1024:.1f} KB"
    expected = (
        f"I see 2 attached files: chart.png (image, {len(image)} B); "
        f"review.pdf (PDF, 3 pages, {kb})."
    )
    for page in (alice_page, bob_page):
        reply = page.locator(".transcript > li.msg", has_text="Reader (offline)")
        await expect(reply).to_contain_text(expected, timeout=20_000)
    await expect(tray).to_be_hidden()

    sent = bob_page.locator(".transcript > li.msg", has_text="what do these say?")
    thumb = sent.get_by_role("img", name="chart.png")
    await expect(thumb).to_have_attribute("src", re.compile(r"^data:image/png;base64,"))
    chip = sent.get_by_role("button", name=re.compile(r"^Download review\.pdf"))
    await expect(chip).to_contain_text("PDF, 3 pages")
    await bob_page.screenshot(path=str(artifacts / "attachments-room.png"))

    async with bob_page.expect_download() as info:
        await chip.click()
    download = await info.value
    assert download.suggested_filename == "review.pdf"
    saved = await download.path()
    assert await asyncio.to_thread(Path(saved).read_bytes) == document

    # After a reload the attachments are read back from the transcript.
    await bob_page.reload()
    await expect(
        bob_page.locator(".transcript > li.msg", has_text="what do these say?").get_by_role(
            "img", name="chart.png"
        )
    ).to_be_visible()


async def test_a_refused_upload_says_why_and_is_not_offered_for_sending(
    live_server: LiveServer, client: Client, browser, artifacts: Path
) -> None:
    alice = await client.register("Alice")
    room = await client.call("POST", "/conversations", alice["token"], json={"title": "Solo"})
    page = await (await browser.new_context()).new_page()
    await sign_in(page, live_server.url, alice)
    await open_room(page, live_server.url, room["id"])
    await page.locator(".attach-tray input[type=file]").set_input_files(
        [{"name": "broken.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 broken"}]
    )
    await expect(page.locator(".room-errors")).to_contain_text("upload_corrupt")
    await expect(page.get_by_role("list", name="Files to send")).to_be_hidden()
