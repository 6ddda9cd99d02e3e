"""Steps the browser tests share: sign in, open a room, read the transcript as a person sees it."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Page, expect

# What the transcript shows, straight from the DOM: seq, author (without "(you)"), text.
TRANSCRIPT_JS = """
() => [...document.querySelectorAll('.transcript > li')].map((li) => ({
  seq: Number(li.dataset.seq),
  author: li.querySelector('.author').textContent.replace(/ \\(you\\)$/, ''),
  content: li.querySelector('.body').textContent,
  status: li.querySelector('.badge') ? li.querySelector('.badge').textContent : 'complete',
}))
"""

# Record every delta this page receives, to compare the streams two people saw, and every text
# a streaming bubble showed: what a person watching the room saw grow, without racing a timer.
RECORD_STREAM_JS = """
() => {
  window.__deltas = [];
  window.__shown = [];
  window.elevate.socket.on('delta', (f) => window.__deltas.push([f.turn_id, f.text]));
  new MutationObserver(() => {
    for (const body of document.querySelectorAll('.live .msg.streaming .body')) {
      const text = body.textContent;
      if (text && window.__shown.at(-1) !== text) window.__shown.push(text);
    }
  }).observe(document.querySelector('.live'), {
    childList: true, subtree: true, characterData: true,
  });
}
"""


async def sign_in(page: Page, base_url: str, user: dict[str, Any]) -> None:
    await page.goto(f"{base_url}/#/login")
    await page.get_by_label("Email").fill(user["email"])
    await page.get_by_label("Password").fill(user["password"])
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Conversations")).to_be_visible()


async def open_room(page: Page, base_url: str, conversation_id: str) -> None:
    await page.goto(f"{base_url}/#/c/{conversation_id}")
    await expect(page.get_by_role("combobox", name="Message")).to_be_visible()
    await page.wait_for_function("() => window.elevate.socket?.state === 'ready'")


async def send(page: Page, text: str) -> None:
    box = page.get_by_role("combobox", name="Message")
    await box.fill(text)
    # Filling does not fire the keys a person presses; close any suggestion list first.
    await box.press("Escape")
    await box.press("Enter")


async def transcript(page: Page) -> list[dict[str, Any]]:
    return await page.evaluate(TRANSCRIPT_JS)


async def wait_for_messages(page: Page, count: int) -> list[dict[str, Any]]:
    """Waits until the transcript holds `count` messages and nothing is still streaming."""
    await page.wait_for_function(
        """(count) => document.querySelectorAll('.transcript > li').length >= count
          && !document.querySelector('.live > li')""",
        arg=count,
    )
    return await transcript(page)


def assert_well_formed(rows: list[dict[str, Any]]) -> None:
    seqs = [row["seq"] for row in rows]
    assert seqs == list(range(1, len(rows) + 1)), f"transcript seqs not 1..n in order: {seqs}"
