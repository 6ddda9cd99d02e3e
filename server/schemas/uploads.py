"""Uploaded files on the wire (the bytes themselves come from `/content`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from server.schemas.base import MAX_ATTACHMENTS, Out


class UploadPublic(Out):
    id: str
    name: str
    content_type: str
    kind: str
    size: int
    pages: int | None = None
    conversation_id: str | None = None
    created_at: datetime


UploadId = Annotated[str, Field(min_length=1, max_length=26)]
# Ids of one's own uploads to attach to a message (`send` frame and POST .../messages).
AttachmentIds = Annotated[list[UploadId], Field(max_length=MAX_ATTACHMENTS)]
