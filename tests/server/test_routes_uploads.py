"""REST of attachments: upload, attach by id on send, download with access, and every refusal.

A refused upload must leave nothing behind: no row and no file under the data directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from store.models import Upload
from tests.server.live import Api, LiveServer, User, socket
from tests.support.files import pdf, png

LIMIT = 4096


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"upload_max_bytes": LIMIT, "max_attachments_per_message": 3}


def stored_files(server: LiveServer) -> list[Path]:
    root = server.services.settings.data_dir / "uploads"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


async def upload_rows(server: LiveServer) -> int:
    from sqlalchemy import func, select

    async with server.services.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(Upload)) or 0)


async def upload(
    api: Api, user: User, name: str, data: bytes, content_type: str = "application/octet-stream"
) -> Any:
    return await api.call("POST", "/api/uploads", user, files={"file": (name, data, content_type)})


async def test_an_image_and_a_pdf_are_described_by_their_bytes(api: Api) -> None:
    ann = await api.register("Ann")
    image = await upload(api, ann, "chart.png", png(), "image/png")
    document = await upload(api, ann, "../../etc/report.pdf", pdf(["a", "b"]), "application/pdf")
    assert image.status_code == 201, image.text
    assert document.status_code == 201, document.text
    assert image.json() | {"id": None, "created_at": None} == {
        "id": None,
        "created_at": None,
        "name": "chart.png",
        "content_type": "image/png",
        "kind": "image",
        "size": len(png()),
        "pages": None,
        "conversation_id": None,
    }
    assert (document.json()["name"], document.json()["kind"], document.json()["pages"]) == (
        "report.pdf",
        "pdf",
        2,
    )
    text = await upload(api, ann, "notes.md", b"# Notes\nplain text")
    assert (text.json()["content_type"], text.json()["kind"]) == ("text/markdown", "text")


@pytest.mark.parametrize(
    ("name", "data", "declared", "status", "code"),
    [
        ("big.png", png() + b"\x00" * LIMIT, "image/png", 413, "upload_too_large"),
        ("empty.txt", b"", "text/plain", 422, "upload_empty"),
        (
            "broken.pdf",
            b"%PDF-1.7\n1 0 obj << /Type /Catalog",
            "application/pdf",
            422,
            "upload_corrupt",
        ),
        (
            "page.html",
            b"<html><script>alert(1)</script></html>",
            "text/html",
            415,
            "upload_type_not_allowed",
        ),
        ("logo.svg", b"<svg onload='alert(1)'/>", "image/svg+xml", 415, "upload_type_not_allowed"),
        ("fake.png", b"just some words", "image/png", 415, "upload_type_mismatch"),
        (
            "tool.exe",
            b"MZ\x90\x00\x03\x00\x00\x00",
            "application/octet-stream",
            415,
            "upload_type_not_allowed",
        ),
        ("photo.pdf", png(), "application/pdf", 415, "upload_type_mismatch"),
    ],
)
async def test_bad_uploads_are_refused_and_store_nothing(
    api: Api, server: LiveServer, name: str, data: bytes, declared: str, status: int, code: str
) -> None:
    ann = await api.register("Ann")
    response = await upload(api, ann, name, data, declared)
    assert (response.status_code, response.json()["code"]) == (status, code), response.text
    assert response.json()["message"]
    assert await upload_rows(server) == 0
    assert stored_files(server) == []


async def test_a_type_not_in_the_settings_is_refused(api: Api, server: LiveServer) -> None:
    server.services.settings.upload_types = ["image/png"]
    ann = await api.register("Ann")
    response = await upload(api, ann, "report.pdf", pdf(["x"]), "application/pdf")
    assert (response.status_code, response.json()["code"]) == (415, "upload_type_not_allowed")
    assert await upload_rows(server) == 0 and stored_files(server) == []


async def test_a_body_far_beyond_the_limit_is_refused_unread(api: Api, server: LiveServer) -> None:
    ann = await api.register("Ann")
    response = await upload(api, ann, "huge.png", png() + b"\x00" * (LIMIT * 40), "image/png")
    assert (response.status_code, response.json()["code"]) == (413, "upload_too_large")
    assert await upload_rows(server) == 0 and stored_files(server) == []


async def test_a_form_without_a_file_field_is_refused(api: Api) -> None:
    ann = await api.register("Ann")
    response = await api.call("POST", "/api/uploads", ann, data={"other": "x"})
    assert (response.status_code, response.json()["code"]) == (422, "invalid_request")
    assert response.json()["details"][0]["loc"] == ["body", "file"]


async def test_uploading_needs_a_token(api: Api) -> None:
    response = await api.call("POST", "/api/uploads", None, files={"file": ("a.png", png())})
    assert response.status_code == 401


async def send(api: Api, user: User, conversation_id: str, **body: Any) -> Any:
    return await api.call(
        "POST",
        f"/api/conversations/{conversation_id}/messages",
        user,
        json={"content": "see attached", **body},
    )


async def test_attached_files_are_shown_and_downloadable_by_the_room_only(
    api: Api, server: LiveServer
) -> None:
    ann, bo, eve = await api.register("Ann"), await api.register("Bo"), await api.register("Eve")
    room = await api.conversation(ann, bo)
    image = (await upload(api, ann, "chart.png", png(), "image/png")).json()
    document = (await upload(api, ann, "report.pdf", pdf(["x", "y", "z"]))).json()
    # Before it is attached, only the uploader sees it.
    assert (await api.call("GET", f"/api/uploads/{image['id']}", bo)).status_code == 404

    sent = await send(
        api, ann, room["id"], client_msg_id="m1", attachment_ids=[image["id"], document["id"]]
    )
    assert sent.status_code == 201, sent.text
    attachments = sent.json()["message"]["attachments"]
    assert [(a["type"], a["upload_id"], a["name"], a["kind"]) for a in attachments] == [
        ("upload", image["id"], "chart.png", "image"),
        ("upload", document["id"], "report.pdf", "pdf"),
    ]
    assert attachments[1]["pages"] == 3 and attachments[0]["size"] == len(png())
    page = await api.ok("GET", f"/api/conversations/{room['id']}/messages", bo)
    assert page["messages"][-1]["attachments"] == attachments

    shown = await api.call("GET", f"/api/uploads/{image['id']}/content", bo)
    assert shown.status_code == 200 and shown.content == png()
    assert shown.headers["content-type"] == "image/png"
    assert shown.headers["x-content-type-options"] == "nosniff"
    assert shown.headers["content-disposition"].startswith("inline;")
    downloaded = await api.call("GET", f"/api/uploads/{document['id']}/content", bo)
    assert downloaded.status_code == 200 and downloaded.content.startswith(b"%PDF-")
    assert downloaded.headers["content-disposition"].startswith('attachment; filename="report.pdf"')
    assert "sandbox" in downloaded.headers["content-security-policy"]

    for path in (f"/api/uploads/{image['id']}", f"/api/uploads/{document['id']}/content"):
        outsider = await api.call("GET", path, eve)
        assert (outsider.status_code, outsider.json()["code"]) == (404, "not_found")
    # Attached files belong to the room now: the uploader cannot delete them from under it.
    assert (await api.call("DELETE", f"/api/uploads/{image['id']}", ann)).status_code == 404


async def test_a_resent_message_keeps_its_attachments_and_creates_nothing(api: Api) -> None:
    ann = await api.register("Ann")
    room = await api.conversation(ann)
    image = (await upload(api, ann, "a.png", png())).json()
    first = await send(api, ann, room["id"], client_msg_id="same", attachment_ids=[image["id"]])
    again = await send(api, ann, room["id"], client_msg_id="same", attachment_ids=[image["id"]])
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["seq"] == first.json()["seq"]
    assert again.json()["message"]["attachments"] == first.json()["message"]["attachments"]


async def test_only_ones_own_unattached_uploads_can_be_attached(
    api: Api, server: LiveServer
) -> None:
    ann, bo = await api.register("Ann"), await api.register("Bo")
    room = await api.conversation(ann, bo)
    other_room = await api.conversation(ann)
    bos = (await upload(api, bo, "bo.png", png())).json()
    anns = (await upload(api, ann, "ann.png", png())).json()

    stolen = await send(api, ann, room["id"], attachment_ids=[anns["id"], bos["id"]])
    assert (stolen.status_code, stolen.json()["code"]) == (422, "attachment_unavailable")
    assert bos["id"] in stolen.json()["message"] and anns["id"] not in stolen.json()["message"]
    # Nothing was attached, Ann's own upload included, and no message was stored.
    assert (await api.ok("GET", f"/api/uploads/{anns['id']}", ann))["conversation_id"] is None
    assert (await api.ok("GET", f"/api/conversations/{room['id']}/messages", ann))["messages"] == []

    assert (await send(api, ann, room["id"], attachment_ids=[anns["id"]])).status_code == 201
    twice = await send(api, ann, other_room["id"], attachment_ids=[anns["id"]])
    assert (twice.status_code, twice.json()["code"]) == (422, "attachment_unavailable")
    unknown = await send(api, ann, room["id"], attachment_ids=["01HZZZZZZZZZZZZZZZZZZZZZZZ"])
    assert unknown.json()["code"] == "attachment_unavailable"


async def test_attachments_cannot_be_forged_or_exceed_the_limit(api: Api) -> None:
    ann = await api.register("Ann")
    room = await api.conversation(ann)
    forged = await send(
        api,
        ann,
        room["id"],
        attachments=[{"type": "upload", "upload_id": "01HZZZZZZZZZZZZZZZZZZZZZZZ"}],
    )
    assert (forged.status_code, forged.json()["code"]) == (422, "invalid_attachment")
    ids = [(await upload(api, ann, f"{n}.png", png())).json()["id"] for n in range(4)]
    too_many = await send(api, ann, room["id"], attachment_ids=ids)
    assert (too_many.status_code, too_many.json()["code"]) == (422, "too_many_attachments")


async def test_an_observer_cannot_attach(api: Api) -> None:
    ann, olive = await api.register("Ann"), await api.register("Olive")
    room = await api.ok(
        "POST",
        "/api/conversations",
        ann,
        json={
            "title": "R",
            "participants": [{"kind": "user", "user_id": olive.id, "role": "observer"}],
        },
    )
    mine = (await upload(api, olive, "o.png", png())).json()
    refused = await send(api, olive, room["id"], attachment_ids=[mine["id"]])
    assert refused.status_code == 403
    assert (await api.ok("GET", f"/api/uploads/{mine['id']}", olive))["conversation_id"] is None


async def test_deleting_an_unattached_upload_removes_its_file(api: Api, server: LiveServer) -> None:
    ann, bo = await api.register("Ann"), await api.register("Bo")
    mine = (await upload(api, ann, "a.png", png())).json()
    assert len(stored_files(server)) == 1
    assert (await api.call("DELETE", f"/api/uploads/{mine['id']}", bo)).status_code == 404
    assert (await api.call("DELETE", f"/api/uploads/{mine['id']}", ann)).status_code == 204
    assert stored_files(server) == [] and await upload_rows(server) == 0


async def test_the_send_frame_attaches_by_id_and_refuses_another_users_upload(
    api: Api, server: LiveServer
) -> None:
    ann, bo = await api.register("Ann"), await api.register("Bo")
    room = await api.conversation(ann, bo)
    anns = (await upload(api, ann, "ann.pdf", pdf(["p"]))).json()
    bos = (await upload(api, bo, "bo.png", png())).json()
    async with socket(server, ann.token) as ws:
        await ws.subscribe(room["id"])
        refused = await ws.request(
            {
                "type": "send",
                "conversation_id": room["id"],
                "client_msg_id": "w1",
                "content": "mine and his",
                "attachment_ids": [anns["id"], bos["id"]],
            }
        )
        assert (refused["type"], refused["code"]) == ("error", "attachment_unavailable")
        ack = await ws.request(
            {
                "type": "send",
                "conversation_id": room["id"],
                "client_msg_id": "w2",
                "content": "the report",
                "attachment_ids": [anns["id"]],
            }
        )
        assert ack["type"] == "ack", ack
        seen = [f for f in ws.frames if f["type"] == "message"]
        message = seen[0] if seen else await ws.until(lambda f: f["type"] == "message")
        [attached] = message["message"]["attachments"]
        assert (attached["upload_id"], attached["pages"]) == (anns["id"], 1)
