"""Wire models of message edits, regenerations and search."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from server.schemas.base import In, Out


class MessageEditIn(In):
    content: Annotated[str, Field(min_length=1)]


class MessageEditPublic(Out):
    id: str
    message_id: str
    edit_seq: int
    previous_content: str
    edited_by: str | None
    created_at: datetime


class RegenerateIn(In):
    client_msg_id: Annotated[str, Field(min_length=1, max_length=100)] | None = None


class RegenerateAck(Out):
    conversation_id: str
    seq: int
    created: bool
    message: dict[str, Any]


class SearchHit(Out):
    conversation_id: str
    conversation_title: str
    message_id: str
    seq: int
    author: dict[str, Any] | None
    snippet: str
    created_at: datetime
    edited_at: datetime | None


class SearchResults(Out):
    query: str
    terms: list[str]
    results: list[SearchHit]
