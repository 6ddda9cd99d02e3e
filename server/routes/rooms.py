"""Managing a conversation, and a person's own view of it.

Admins change roles; the owner (who created the conversation) archives and deletes it. Each
person reads and moves only their own read position and mute flag; someone without access gets
`not_found`, as if the conversation did not exist.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status

from runtime.events import event
from runtime.user_events import publish_to_users, user_event
from server.access import require_conversation
from server.deps import ConversationsDep, CurrentUser, RuntimeDep, ServicesDep
from server.errors import forbidden
from server.room_events import announce_deleted, announce_updated, list_items, readers
from server.schemas.conversations import ConversationPublic, ParticipantPublic
from server.schemas.rooms import ArchiveIn, MuteIn, ReadIn, ReadStatePublic, RoleIn
from server.transcript import participants_to_wire
from store.conversations import Conversations
from store.enums import Role
from store.models import Conversation, User
from store.notifications import Notifications
from store.read_positions import ReadPositions

router = APIRouter(prefix="/api/conversations", tags=["conversations"])
ADMIN = Role.ADMIN.value


async def require_owner(services: Any, conversation_id: str, user: User) -> Conversation:
    """The conversation, if the caller created it (404 without access, 403 otherwise)."""
    await require_conversation(services.db, conversation_id, user.id)
    conversation = await Conversations(services.db).get(conversation_id)
    if conversation.created_by != user.id:
        raise forbidden("only the conversation's owner may archive or delete it")
    return conversation


@router.get("/{conversation_id}/read", response_model=ReadStatePublic)
async def read_state(conversation_id: str, user: CurrentUser, services: ServicesDep) -> Any:
    """The caller's own read position, unread count and mute flag."""
    await require_conversation(services.db, conversation_id, user.id)
    return await ReadPositions(services.db).state(conversation_id, user.id)


@router.put("/{conversation_id}/read", response_model=ReadStatePublic)
async def mark_read(
    conversation_id: str, body: ReadIn, user: CurrentUser, services: ServicesDep
) -> Any:
    """Move the read position forward (never back, never past the last seq); the person's
    other devices hear `conversation.read`, and the conversation's notifications are read."""
    await require_conversation(services.db, conversation_id, user.id)
    state = await ReadPositions(services.db).mark_read(conversation_id, user.id, body.seq)
    notes = Notifications(services.db)
    await notes.mark_read(user.id, conversation_id=conversation_id)
    await publish_to_users(
        services.bus,
        [user.id],
        user_event(
            "conversation.read",
            conversation_id,
            last_read_seq=state.last_read_seq,
            unread=state.unread,
            unread_notifications=await notes.unread_count(user.id),
        ),
    )
    return state


@router.put("/{conversation_id}/mute", response_model=ReadStatePublic)
async def mute(conversation_id: str, body: MuteIn, user: CurrentUser, services: ServicesDep) -> Any:
    """A muted conversation notifies nobody of mentions or replies; unread is still counted."""
    await require_conversation(services.db, conversation_id, user.id)
    return await ReadPositions(services.db).set_muted(conversation_id, user.id, body.muted)


@router.patch("/{conversation_id}/participants/{participant_id}", response_model=ParticipantPublic)
async def set_role(
    conversation_id: str,
    participant_id: str,
    body: RoleIn,
    user: CurrentUser,
    conversations: ConversationsDep,
    services: ServicesDep,
) -> Any:
    """Admins change roles; only the owner changes their own. Everyone in the room hears
    `participant.updated`."""
    await require_conversation(services.db, conversation_id, user.id, ADMIN)
    conversation = await conversations.get(conversation_id)
    owner = await conversations.participant_for_user(conversation_id, conversation.created_by)
    if owner is not None and owner.id == participant_id and user.id != conversation.created_by:
        raise forbidden("only the owner may change the owner's role")
    participant = await conversations.set_role(conversation_id, participant_id, body.role)
    [wire] = await participants_to_wire(services.db, [participant])
    await services.bus.publish(
        conversation_id, event("participant.updated", conversation_id, participant=wire)
    )
    return wire


@router.put("/{conversation_id}/archive", response_model=ConversationPublic)
async def archive(
    conversation_id: str, body: ArchiveIn, user: CurrentUser, services: ServicesDep
) -> Any:
    """Archived conversations leave the main list (still readable); `archived: false` brings
    one back."""
    await require_owner(services, conversation_id, user)
    conversation = await Conversations(services.db).set_archived(conversation_id, body.archived)
    await announce_updated(services, conversation)
    [item] = await list_items(services, user.id, [conversation])
    return item


@router.delete("/{conversation_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_conversation(
    conversation_id: str, user: CurrentUser, services: ServicesDep, runtime: RuntimeDep
) -> Response:
    """The owner deletes the conversation and everything in it; open sockets are told
    (`conversation.deleted`, then `unsubscribed` `reason: deleted`) and lists drop it."""
    await require_owner(services, conversation_id, user)
    people = await readers(services, conversation_id)
    await runtime.cancel(conversation_id, user.id)
    await Conversations(services.db).delete(conversation_id)
    await announce_deleted(services, conversation_id, people)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
