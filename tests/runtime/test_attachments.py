"""Attachments reach models: images as image_url content parts, PDFs and text as their text.

The OpenAI case runs the real `ChatOpenAI` client against a local OpenAI-compatible server that
records every request, so the assertions are on what went over the wire.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from runtime.agent_turn import AgentRunner, AgentTurnRequest
from runtime.settings import Settings
from runtime.testing import EventRecorder
from server.upload_checks import check_upload
from store.blobs import LocalBlobStore, new_key
from store.db import Database
from store.models import Upload
from store.uploads import Uploads, descriptor
from tests.support import Room, make_room
from tests.support.files import pdf, png
from tests.support.openai_server import OpenAIServer, ScriptedCompletion
from tools.registry import ToolRegistry

ALLOWED = Settings().upload_types


@pytest.fixture
def openai() -> Iterator[OpenAIServer]:
    with OpenAIServer([ScriptedCompletion("Seen both.")]) as running:
        yield running


async def _attach(room: Room, data_dir: Path, who: str, files: list[tuple[str, bytes]]) -> int:
    """Upload files as `who` would, attach them to a message of theirs; the message's seq."""
    uploads = Uploads(room.db)
    blobs = LocalBlobStore(data_dir / "uploads")
    stored: list[Upload] = []
    for name, data in files:
        checked = check_upload(data, name, None, max_bytes=10**7, allowed=ALLOWED)
        key = new_key("attachments")
        await blobs.put(key, checked.data)
        stored.append(
            await uploads.create(
                room.users[who].id,
                name=checked.name,
                content_type=checked.content_type,
                kind=checked.kind,
                size=len(checked.data),
                sha256=checked.sha256,
                storage_key=key,
                pages=checked.pages,
                text=checked.text,
            )
        )
    attached = await uploads.attach(
        [u.id for u in stored], room.users[who].id, room.conversation_id, None
    )
    return await room.say(who, "@vis please look", attachments=[descriptor(u) for u in attached])


async def _run(room: Room, settings: Settings, who: str = "Ann") -> Any:
    events = EventRecorder()
    result = await AgentRunner(room.db, settings, ToolRegistry()).run(
        AgentTurnRequest(
            conversation_id=room.conversation_id,
            turn_id=await room.start_turn("vis"),
            agent_id=room.agents["vis"].id,
            user_id=room.users[who].id,
            group_id=None,
            emit=events,
        )
    )
    assert result.status == "completed", result.error
    return result


async def test_openai_client_receives_the_image_part_and_the_pdf_text(
    db: Database, database_url: str, tmp_path: Path, openai: OpenAIServer
) -> None:
    settings = Settings(
        openai_api_key=SecretStr("test-key"),
        openai_base_url=openai.base_url,
        database_url=database_url,
        data_dir=tmp_path,
    )
    room = await make_room(db, ["Ann"], [{"name": "Vis", "model": "openai:local-vision"}])
    image = png(5, 5)
    document = pdf(["Quarterly revenue grew nine percent", "Churn fell"])
    await _attach(room, tmp_path, "Ann", [("chart.png", image), ("report.pdf", document)])

    await _run(room, settings)

    (sent,) = openai.requests
    last = sent["messages"][-1]
    assert last["role"] == "user"
    parts = last["content"]
    assert parts[0] == {"type": "text", "text": "Ann: @vis please look"}
    images = [p for p in parts if p["type"] == "image_url"]
    assert images == [
        {
            "type": "image_url",
            "image_url": {"url": "data:image/png;base64," + base64.b64encode(image).decode()},
        }
    ]
    texts = "\n".join(p["text"] for p in parts if p["type"] == "text")
    assert "[attachment: chart.png (image, " in texts
    assert "[attachment: report.pdf (PDF, 2 pages, " in texts
    assert "Quarterly revenue grew nine percent" in texts and "Churn fell" in texts


async def test_long_text_is_cut_with_a_note_the_model_reads(
    db: Database, database_url: str, tmp_path: Path, openai: OpenAIServer
) -> None:
    settings = Settings(
        openai_api_key=SecretStr("test-key"),
        openai_base_url=openai.base_url,
        database_url=database_url,
        data_dir=tmp_path,
        attachment_text_chars=50,
        text_only_models=["openai:local-vision"],
    )
    room = await make_room(db, ["Ann"], [{"name": "Vis", "model": "openai:local-vision"}])
    notes = ("word " * 40).encode()
    await _attach(room, tmp_path, "Ann", [("notes.txt", notes), ("pic.png", png())])

    await _run(room, settings)

    parts = openai.requests[0]["messages"][-1]["content"]
    assert all(p["type"] == "text" for p in parts), "a text-only model gets no image part"
    texts = "\n".join(p["text"] for p in parts)
    assert "[truncated: only the first 50 of 200 characters are shown]" in texts
    assert ("word " * 10).strip() in texts and ("word " * 11).strip() not in texts
    assert "[attachment: pic.png (image, " in texts and "not shown" in texts


async def test_the_offline_model_names_each_file_with_its_size_or_pages(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=database_url, data_dir=tmp_path)
    room = await make_room(db, ["Ann"], [{"name": "Vis", "model": "offline:default"}])
    image, document = png(), pdf(["one", "two", "three"])
    await _attach(room, tmp_path, "Ann", [("chart.png", image), ("deck.pdf", document)])

    result = await _run(room, settings)

    assert result.content.startswith('Vis (offline): I read your message about "please look".')
    kb = f"{len(document) / 1024:.1f} KB"
    files = f"chart.png (image, {len(image)} B); deck.pdf (PDF, 3 pages, {kb})"
    assert result.content.endswith(f" I see 2 attached files: {files}.")


async def test_an_upload_of_another_conversation_is_never_read_into_this_one(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    """A descriptor naming an upload attached elsewhere (forged into a stored message) adds
    nothing: uploads are read only where they were attached."""
    settings = Settings(database_url=database_url, data_dir=tmp_path)
    other = await make_room(db, ["Bo"], [{"name": "Spy", "model": "offline:default"}])
    await _attach(other, tmp_path, "Bo", [("secret.txt", b"the secret plan")])
    async with db.read() as session:
        secret = await session.scalar(
            select(Upload).where(Upload.conversation_id == other.conversation_id)
        )
    assert secret is not None
    room = await make_room(db, ["Ann"], [{"name": "Vis", "model": "offline:default"}])
    await room.say("Ann", "@vis look", attachments=[descriptor(secret)])

    result = await _run(room, settings)

    assert result.content == 'Vis (offline): I read your message about "look".'
