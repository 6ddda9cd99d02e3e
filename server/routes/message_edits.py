"""Editing and deleting one's own messages, and reading what an edit replaced.

Only the author may change a message (`not_author`: someone else's, an agent's); observers may
not change anything (`forbidden`), and someone without access gets `not_found`. Every change
is announced to the conversation (`message.updated`, `message.deleted`) after it is stored.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from runtime.events import event
from server.access import require_conversation
from server.deps import CurrentUser, ServicesDep
from server.limits import check_content
from server.schemas.message_edits import MessageEditIn, MessageEditPublic
from server.services import Services
from server.transcript import Transcript
from store.enums import Role
from store.message_edits import Change, MessageEdits
from store.messages import MAX_SEQ

router = APIRouter(prefix="/api/conversations", tags=["messages"])
Seq = Annotated[int, Path(ge=1, le=MAX_SEQ)]


async def announce(services: Services, conversation_id: str, change: Change) -> dict[str, Any]:
    """Publish the change as its frame; the message in its wire shape."""
    (wire,) = await Transcript(services.db, conversation_id).messages([change.message])
    kind = "message.deleted" if change.message.deleted_at is not None else "message.updated"
    await services.bus.publish(
        conversation_id,
        event(kind, conversation_id, seq=wire["seq"], edit_seq=change.edit_seq, message=wire),
    )
    return wire


@router.patch("/{conversation_id}/messages/{seq}")
async def edit_message(
    conversation_id: str, seq: Seq, body: MessageEditIn, user: CurrentUser, services: ServicesDep
) -> dict[str, Any]:
    """Replace the content of one's own message (limits as for a send)."""
    await require_conversation(services.db, conversation_id, user.id, Role.MEMBER.value)
    check_content(body.content, services.settings.max_message_chars)
    change = await MessageEdits(services.db).edit(conversation_id, seq, user.id, body.content)
    return await announce(services, conversation_id, change)


@router.delete("/{conversation_id}/messages/{seq}")
async def delete_message(
    conversation_id: str, seq: Seq, user: CurrentUser, services: ServicesDep
) -> dict[str, Any]:
    """Delete one's own message: a tombstone keeps its seq; its text and versions are gone."""
    await require_conversation(services.db, conversation_id, user.id, Role.MEMBER.value)
    change = await MessageEdits(services.db).delete(conversation_id, seq, user.id)
    return await announce(services, conversation_id, change)


@router.get("/{conversation_id}/messages/{seq}/edits", response_model=list[MessageEditPublic])
async def message_edits(
    conversation_id: str, seq: Seq, user: CurrentUser, services: ServicesDep
) -> list[MessageEditPublic]:
    """The earlier versions of one's own message, oldest first (its author only)."""
    await require_conversation(services.db, conversation_id, user.id)
    rows = await MessageEdits(services.db).history(conversation_id, seq, user.id)
    return [MessageEditPublic.model_validate(row) for row in rows]
