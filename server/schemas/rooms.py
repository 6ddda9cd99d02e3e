"""Managing a conversation and a person's view of it, on the wire."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from server.schemas.base import In, Out
from server.schemas.groups import RoleName
from store.messages import MAX_SEQ

NotificationId = Annotated[str, Field(min_length=1, max_length=26)]


class ReadIn(In):
    seq: Annotated[int, Field(ge=0, le=MAX_SEQ)]


class MuteIn(In):
    muted: bool


class ArchiveIn(In):
    archived: bool


class RoleIn(In):
    role: RoleName


class ReadStatePublic(Out):
    conversation_id: str
    last_read_seq: int
    unread: int
    muted: bool


class NotificationsReadIn(In):
    """Which notifications to mark read: these ids, this conversation's, or (neither) all."""

    ids: Annotated[list[NotificationId], Field(max_length=200)] | None = None
    conversation_id: Annotated[str, Field(min_length=1, max_length=26)] | None = None
