"""Prompts and their attachments on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from server.schemas.base import In, Out, keep_unset


class PromptCreate(In):
    title: Annotated[str, Field(min_length=1, max_length=300)]
    content: Annotated[str, Field(min_length=1)]
    tags: list[str] | None = None
    status: Annotated[str, Field(max_length=32)] | None = None
    category: Annotated[str, Field(max_length=64)] | None = None


class PromptUpdate(In):
    """A PATCH: `title` and `content` can change but not be cleared."""

    title: Annotated[str, Field(min_length=1, max_length=300)] = keep_unset()
    content: Annotated[str, Field(min_length=1)] = keep_unset()
    tags: list[str] | None = None
    status: Annotated[str, Field(max_length=32)] | None = None
    category: Annotated[str, Field(max_length=64)] | None = None


class PromptPublic(Out):
    id: str
    title: str
    content: str
    tags: list[str] | None = None
    status: str | None = None
    category: str | None = None
    created_by: str
    created_at: datetime
    updated_at: datetime | None = None


class AttachmentCreate(In):
    owner_type: Literal["agent", "group"]
    owner_id: Annotated[str, Field(min_length=1, max_length=26)]
    prompt_id: Annotated[str, Field(min_length=1, max_length=26)]


class AttachmentPublic(Out):
    id: str
    owner_type: str
    owner_id: str
    prompt_id: str
    created_by: str | None = None
    created_at: datetime
