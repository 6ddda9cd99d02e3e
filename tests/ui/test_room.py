"""Two people in one room with an agent: the reply streams to both in the same order, and a
reload or a dropped socket mid-turn ends in the same full, duplicate-free transcript."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from playwright.async_api import expect

from runtime.testing import SLOW_OFFLINE_PROVIDER as SLOW_PROVIDER
from tests.ui.conftest import Client, LiveServer
from tests.ui.helpers import (
    RECORD_STREAM_JS,
    assert_well_formed,
    open_room,
    send,
    sign_in,
    transcript,
    wait_for_messages,
)

pytestmark = pytest.mark.browser


async def room_with_agent(client: Client, delay_ms: int) -> tuple[dict, dict, dict, str]:
    alice = await client.register("Alice")
    bob = await client.register("Bob")
    agent = await client.call(
        "POST",
        "/agents",
        alice["token"],
        json={
            "name": "Helper",
            "handle": "helper",
            "description": "Answers questions about the launch",
            "model": f"{SLOW_PROVIDER}:{delay_ms}",
            "delegates_to": [],
            "attached_prompts": [],
        },
    )
    conversation = await client.call(
        "POST",
        "/conversations",
        alice["token"],
        json={
            "title": "Launch planning",
            "participants": [
                {"kind": "user", "user_id": bob["id"]},
                {"kind": "agent", "agent_id": agent["id"]},
            ],
        },
    )
    return alice, bob, agent, conversation["id"]


async def rest_transcript(client: Client, user: dict[str, Any], conversation_id: str) -> list:
    page = await client.call("GET", f"/conversations/{conversation_id}/messages", user["token"])
    messages = page["messages"] if isinstance(page, dict) else page
    return [(m["seq"], m["content"]) for m in messages]


async def test_two_people_watch_the_same_reply_stream(
    browser: Any, live_server: LiveServer, client: Client
) -> None:
    alice, bob, _, conversation_id = await room_with_agent(client, delay_ms=60)
    pages = []
    for user in (alice, bob):
        context = await browser.new_context()
        page = await context.new_page()
        await sign_in(page, live_server.url, user)
        await open_room(page, live_server.url, conversation_id)
        await page.evaluate(RECORD_STREAM_JS)
        pages.append(page)
    alice_page, bob_page = pages

    # Presence and typing: Alice sees that Bob is here and typing.
    await expect(alice_page.locator(".people summary")).to_have_text(
        "3 in conversation · 2 here now"
    )
    await bob_page.get_by_role("combobox", name="Message").press_sequentially("hm")
    await expect(alice_page.get_by_text("Bob is typing…")).to_be_visible()
    await bob_page.get_by_role("combobox", name="Message").fill("")

    await send(alice_page, "@helper what is the plan for the launch next week")

    rows = [await wait_for_messages(page, 2) for page in pages]

    assert rows[0] == rows[1]
    assert_well_formed(rows[0])
    assert rows[0][0]["author"] == "Alice"
    assert rows[0][0]["content"] == "@helper what is the plan for the launch next week"
    assert rows[0][1]["author"] == "Helper"
    assert rows[0][1]["content"].startswith("Helper (offline): I read your message")

    deltas = [await page.evaluate("() => window.__deltas") for page in pages]
    assert deltas[0] == deltas[1], "both people saw the same deltas in the same order"
    assert len(deltas[0]) > 3, "the reply streamed in several pieces"
    assert "".join(text for _, text in deltas[0]) == rows[0][1]["content"]
    # Both saw the agent's bubble grow while it was being written.
    for page in pages:
        shown = await page.evaluate("() => window.__shown")
        assert len(shown) > 3
        assert all(rows[0][1]["content"].startswith(text) for text in shown)
        assert shown[-1] != shown[0]
    assert await rest_transcript(client, alice, conversation_id) == [
        (row["seq"], row["content"]) for row in rows[0]
    ]


async def test_reload_and_dropped_socket_mid_turn_lose_nothing(
    browser: Any, live_server: LiveServer, client: Client
) -> None:
    alice, bob, _, conversation_id = await room_with_agent(client, delay_ms=200)
    pages = []
    for user in (alice, bob):
        context = await browser.new_context()
        page = await context.new_page()
        await sign_in(page, live_server.url, user)
        await open_room(page, live_server.url, conversation_id)
        pages.append(page)
    alice_page, bob_page = pages

    await send(bob_page, "@helper summarise everything we decided about the launch so far please")
    await asyncio.gather(
        *(
            expect(page.locator(".live .msg.streaming .body")).to_have_text(re.compile(r"\S"))
            for page in pages
        )
    )

    # Alice reloads mid-turn; Bob's socket drops mid-turn.
    await alice_page.reload()
    await bob_page.evaluate("() => window.elevate.socket.drop()")
    await open_room(alice_page, live_server.url, conversation_id)

    final = [await wait_for_messages(page, 2) for page in pages]
    assert final[0] == final[1]
    assert_well_formed(final[0])
    assert [row["author"] for row in final[0]] == ["Bob", "Helper"]
    assert final[0][1]["content"].startswith("Helper (offline):")

    # A send whose acknowledgement is lost with the socket is retried under the same
    # client_msg_id after the reconnect, and stored once.
    await bob_page.get_by_role("combobox", name="Message").fill("Thanks, that is all for today")
    await bob_page.evaluate(
        """() => {
          document.querySelector('form.composer').requestSubmit();
          window.elevate.socket.drop();
        }"""
    )
    # Helper is the only agent in the room, so it answers this one too.
    rows = [await wait_for_messages(page, 4) for page in pages]
    assert rows[0] == rows[1]
    assert_well_formed(rows[0])
    assert [row["author"] for row in rows[0]] == ["Bob", "Helper", "Bob", "Helper"]
    assert [row["content"] for row in rows[0]].count("Thanks, that is all for today") == 1
    await bob_page.wait_for_function("() => window.elevate.socket.outbox.size === 0")
    assert await rest_transcript(client, bob, conversation_id) == [
        (row["seq"], row["content"]) for row in rows[0]
    ]
    assert await transcript(alice_page) == rows[0]
