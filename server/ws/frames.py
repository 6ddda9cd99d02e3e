"""Client frames of websocket protocol v1 as pydantic models, and the parser that names errors.

Frames are validated strictly (a string is not an int) against a discriminated union on `type`;
unknown extra fields are ignored so that clients may be newer than the server. The field types
are REST's (`server/schemas/base.py`): the same bounds on integers and attachments, and no NUL
character anywhere in a frame.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from server.schemas.base import Attachments, Seq, find_nul
from server.schemas.uploads import AttachmentIds

Ref = Annotated[str, Field(max_length=100)] | Annotated[int, Field(ge=-(2**53), le=2**53)]
ConversationId = Annotated[str, Field(min_length=1, max_length=64)]


class Frame(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    ref: Ref | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        path = find_nul(data)
        if path is not None:
            raise ValueError(f"`{path}` holds a NUL character, which text fields cannot store")
        return data


class Auth(Frame):
    type: Literal["auth"]
    token: Annotated[str, Field(min_length=1, max_length=512)]


class Subscribe(Frame):
    type: Literal["subscribe"]
    conversation_id: ConversationId
    after_seq: Seq = 0
    # The last `edit_seq` the client saw (server/ws/edit_replay.py); None: it knows none.
    after_edit_seq: Seq | None = None


class Unsubscribe(Frame):
    type: Literal["unsubscribe"]
    conversation_id: ConversationId


class Send(Frame):
    type: Literal["send"]
    conversation_id: ConversationId
    client_msg_id: Annotated[str, Field(min_length=1, max_length=100)]
    content: Annotated[str, Field(min_length=1)]
    attachments: Attachments | None = None
    attachment_ids: AttachmentIds | None = None


class Cancel(Frame):
    type: Literal["cancel"]
    conversation_id: ConversationId
    turn_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class Typing(Frame):
    type: Literal["typing"]
    conversation_id: ConversationId


class Ping(Frame):
    type: Literal["ping"]


ClientFrame = Annotated[
    Auth | Subscribe | Unsubscribe | Send | Cancel | Typing | Ping, Field(discriminator="type")
]
FRAME_TYPES = frozenset({"auth", "subscribe", "unsubscribe", "send", "cancel", "typing", "ping"})
_adapter: TypeAdapter[Any] = TypeAdapter(ClientFrame)


class FrameError(Exception):
    """A frame that cannot be handled; `code` is the protocol's stable error code."""

    def __init__(self, code: str, message: str, ref: Any = None, details: Any = None) -> None:
        super().__init__(message)
        self.code, self.message, self.ref, self.details = code, message, ref, details


def _ref_of(data: dict[str, Any]) -> Any:
    ref = data.get("ref")
    if isinstance(ref, bool):
        return None
    if isinstance(ref, str) and len(ref) <= 100:
        return ref
    if isinstance(ref, int) and abs(ref) <= 2**53:
        return ref
    return None


def parse_frame(text: str) -> Frame:
    """A validated client frame, or `FrameError` (bad_json, invalid_frame, unknown_type)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise FrameError("bad_json", "the frame is not valid JSON") from None
    if not isinstance(data, dict):
        raise FrameError("invalid_frame", "a frame must be a JSON object")
    ref = _ref_of(data)
    kind = data.get("type")
    if not isinstance(kind, str):
        raise FrameError("invalid_frame", "the frame has no string `type`", ref)
    if kind not in FRAME_TYPES:
        raise FrameError("unknown_type", f"unknown frame type {kind[:40]!r}", ref)
    try:
        return _adapter.validate_python(data)
    except ValidationError as exc:
        details = [
            {"field": ".".join(str(p) for p in e["loc"][1:]), "error": e["msg"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        fields = ", ".join(d["field"] or "frame" for d in details)
        raise FrameError(
            "invalid_frame", f"invalid {kind} frame: check {fields}", ref, details
        ) from None
