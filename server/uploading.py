"""Receiving an upload and serving its bytes back, shared by attachments and avatars.

A file is read in full (up to its limit plus one byte, so an oversized one is recognised
without being kept), checked (`server.upload_checks`), and only then written to blob storage
and recorded; if recording fails the bytes are deleted again, so a refused upload leaves
nothing behind. Bytes go back with headers that stop a browser from running them: never
`text/html`, `nosniff`, a sandboxing CSP, and `attachment` for everything but images.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request, UploadFile
from fastapi.responses import Response
from starlette.datastructures import UploadFile as StarletteUploadFile

from server.errors import ApiError
from server.services import Services
from server.upload_checks import CheckedFile, check_upload
from store.blobs import new_key
from store.models import Upload
from store.uploads import Uploads

# Room for the multipart envelope around the file itself.
MULTIPART_SLACK = 64 * 1024


def refuse_large_body(request: Request, max_bytes: int) -> None:
    """413 before parsing when the declared body is far beyond the limit."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes + MULTIPART_SLACK:
        raise ApiError(
            413, "upload_too_large", f"the file is larger than the limit of {max_bytes} bytes"
        )


# The request body of an upload route, for the OpenAPI description (the route reads the form
# itself, after checking the declared length, so an oversized body is refused unread).
MULTIPART_FILE = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


async def form_file(request: Request, max_bytes: int) -> UploadFile:
    """The multipart field `file`, read only once the declared length is within the limit."""
    refuse_large_body(request, max_bytes)
    try:
        form = await request.form(max_files=1, max_fields=4)
    except Exception:
        raise ApiError(
            400, "invalid_request", "the body is not a readable multipart form"
        ) from None
    file = form.get("file")
    if not isinstance(file, StarletteUploadFile):
        raise ApiError(
            422,
            "invalid_request",
            "send the file as the multipart form field `file`",
            details=[{"loc": ["body", "file"], "msg": "Field required", "type": "missing"}],
        )
    return file


async def read_checked(file: UploadFile, max_bytes: int, allowed: list[str]) -> CheckedFile:
    data = await file.read(max_bytes + 1)
    return check_upload(
        data, file.filename, file.content_type, max_bytes=max_bytes, allowed=allowed
    )


async def store_upload(
    services: Services, user_id: str, checked: CheckedFile, purpose: str
) -> Upload:
    """Write the bytes, then the row; a failed row takes its bytes with it."""
    key = new_key(f"{purpose}s")
    await services.blobs.put(key, checked.data)
    try:
        return await Uploads(services.db).create(
            user_id,
            purpose=purpose,
            name=checked.name,
            content_type=checked.content_type,
            kind=checked.kind,
            size=len(checked.data),
            sha256=checked.sha256,
            storage_key=key,
            pages=checked.pages,
            text=checked.text,
        )
    except BaseException:
        await services.blobs.delete(key)
        raise


def served_type(upload: Upload) -> str:
    """The Content-Type to answer with: the sniffed type; text always as plain text."""
    if upload.kind == "text":
        return "text/plain; charset=utf-8"
    return upload.content_type


async def file_response(services: Services, upload: Upload) -> Response:
    data = await services.blobs.get(upload.storage_key)
    disposition = "inline" if upload.kind == "image" else "attachment"
    ascii_name = upload.name.encode("ascii", "replace").decode().replace('"', "_")
    headers = {
        "Content-Disposition": (
            f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(upload.name)}"
        ),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=3600",
    }
    return Response(data, media_type=served_type(upload), headers=headers)
