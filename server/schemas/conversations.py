"""Conversations, participants and messages on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from server.schemas.base import Attachments, In, JsonObject, Out, keep_unset
from server.schemas.groups import RoleName
from server.schemas.uploads import AttachmentIds


class UserParticipantIn(In):
    kind: Literal["user"]
    user_id: Annotated[str, Field(min_length=1, max_length=26)]
    role: RoleName = "member"


class AgentParticipantIn(In):
    kind: Literal["agent"]
    agent_id: Annotated[str, Field(min_length=1, max_length=26)]
    role: RoleName = "member"


ParticipantIn = Annotated[UserParticipantIn | AgentParticipantIn, Field(discriminator="kind")]


class ConversationCreate(In):
    title: Annotated[str, Field(min_length=1, max_length=300)]
    group_id: Annotated[str, Field(min_length=1, max_length=26)] | None = None
    participants: Annotated[list[ParticipantIn], Field(max_length=500)] = []
    policy: JsonObject | None = None


class ConversationUpdate(In):
    """A PATCH: `title` can change but not be cleared; `policy: null` restores the defaults."""

    title: Annotated[str, Field(min_length=1, max_length=300)] = keep_unset()
    policy: JsonObject | None = None


class ParticipantPublic(Out):
    id: str
    kind: str
    user_id: str | None = None
    agent_id: str | None = None
    role: str
    name: str | None = None
    handle: str | None = None
    is_removed: bool = False
    added_at: datetime | None = None


class ConversationPublic(Out):
    id: str
    title: str
    created_by: str
    group_id: str | None = None
    last_seq: int
    last_message_time: datetime
    policy: dict[str, Any] = {}
    created_at: datetime
    role: str | None = None
    participants: list[ParticipantPublic] | None = None
    archived_at: datetime | None = None
    # The caller's view, in lists and `conversation.added`: unread count, read position, mute.
    unread: int | None = None
    last_read_seq: int | None = None
    muted: bool | None = None
    last_message: dict[str, Any] | None = None


class MessageIn(In):
    client_msg_id: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    content: Annotated[str, Field(min_length=1)]
    attachments: Attachments | None = None
    attachment_ids: AttachmentIds | None = None


class MessagePage(Out):
    conversation_id: str
    messages: list[dict[str, Any]]
    last_seq: int
    has_more: bool
    # Turns under way, with their tool calls so far (a call waiting for approval among them).
    running_turns: list[dict[str, Any]] = []


class SendAck(Out):
    conversation_id: str
    client_msg_id: str | None
    seq: int
    created: bool
    message: dict[str, Any]


class CancelIn(In):
    turn_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class DecisionIn(In):
    approved: bool
