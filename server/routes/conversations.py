"""Conversations: create, list mine, read, participants, messages (read and send), cancel.

Reading needs any role; sending and cancelling need member or admin; changing the room needs
admin. Someone without access gets `not_found`, as if the conversation did not exist.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from runtime.events import event
from runtime.policy import ConversationPolicy
from server.access import require_conversation, require_group
from server.attaching import claim_attachments, release
from server.deps import (
    ConversationsDep,
    CurrentUser,
    DatabaseDep,
    MessagesDep,
    RuntimeDep,
    ServicesDep,
)
from server.errors import forbidden
from server.limits import check_content
from server.room_events import (
    announce_added,
    announce_removed,
    announce_updated,
    list_items,
    readers,
)
from server.schemas.conversations import (
    CancelIn,
    ConversationCreate,
    ConversationPublic,
    ConversationUpdate,
    MessageIn,
    MessagePage,
    ParticipantIn,
    ParticipantPublic,
    SendAck,
)
from server.transcript import Transcript, participants_to_wire
from store.conversations import NewParticipant
from store.db import Database
from store.enums import Role
from store.groups import Groups
from store.messages import MAX_PAGE, MAX_SEQ

router = APIRouter(prefix="/api/conversations", tags=["conversations"])
MEMBER, ADMIN = Role.MEMBER.value, Role.ADMIN.value


def _new(p: Any) -> NewParticipant:
    if p.kind == "user":
        return NewParticipant(user_id=p.user_id, role=p.role)
    return NewParticipant(agent_id=p.agent_id, role=p.role)


async def _group_agents(
    db: Database, group_id: str, listed: list[NewParticipant]
) -> list[NewParticipant]:
    """The group's agents not already among the listed participants."""
    present = {p.agent_id for p in listed if p.agent_id}
    return [
        NewParticipant(agent_id=m.agent_id)
        for m in await Groups(db).members(group_id)
        if m.agent_id is not None and m.agent_id not in present
    ]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ConversationPublic)
async def create_conversation(
    body: ConversationCreate,
    user: CurrentUser,
    conversations: ConversationsDep,
    db: DatabaseDep,
    services: ServicesDep,
) -> ConversationPublic:
    """A conversation in a group needs a say in the group (members and admins, not observers);
    the group's agents join it, so they answer there."""
    policy = ConversationPolicy.from_config(body.policy).to_config()
    participants = [_new(p) for p in body.participants]
    if body.group_id is not None:
        await require_group(db, body.group_id, user, MEMBER)
        participants += await _group_agents(db, body.group_id, participants)
    conversation = await conversations.create(
        body.title, user.id, group_id=body.group_id, policy=policy, participants=participants
    )
    public = ConversationPublic.model_validate(conversation)
    public.role = ADMIN
    rows = await conversations.participants(conversation.id)
    public.participants = [ParticipantPublic(**p) for p in await participants_to_wire(db, rows)]
    await announce_added(services, conversation.id, await readers(services, conversation.id))
    return public


@router.get("", response_model=list[ConversationPublic])
async def list_conversations(
    user: CurrentUser, conversations: ConversationsDep, services: ServicesDep
) -> list[Any]:
    """Mine, the latest message first, each with my unread count and its last message."""
    return await list_items(services, user.id, await conversations.list_for_user(user.id))


@router.get("/{conversation_id}", response_model=ConversationPublic)
async def get_conversation(
    conversation_id: str, user: CurrentUser, conversations: ConversationsDep, db: DatabaseDep
) -> ConversationPublic:
    role = await require_conversation(db, conversation_id, user.id)
    public = ConversationPublic.model_validate(await conversations.get(conversation_id))
    public.role = role
    rows = await conversations.participants(conversation_id)
    public.participants = [ParticipantPublic(**p) for p in await participants_to_wire(db, rows)]
    return public


@router.patch("/{conversation_id}", response_model=ConversationPublic)
async def update_conversation(
    conversation_id: str,
    body: ConversationUpdate,
    user: CurrentUser,
    conversations: ConversationsDep,
    db: DatabaseDep,
    services: ServicesDep,
) -> ConversationPublic:
    """Rename or change the policy; everyone who reads it hears `conversation.updated`."""
    role = await require_conversation(db, conversation_id, user.id, ADMIN)
    fields = body.model_dump(exclude_unset=True)
    if "policy" in fields:
        fields["policy"] = ConversationPolicy.from_config(fields["policy"]).to_config()
    updated = await conversations.update(conversation_id, **fields)
    await announce_updated(services, updated)
    public = ConversationPublic.model_validate(updated)
    public.role = role
    return public


@router.get("/{conversation_id}/participants", response_model=list[ParticipantPublic])
async def list_participants(
    conversation_id: str, user: CurrentUser, conversations: ConversationsDep, db: DatabaseDep
) -> list[dict[str, Any]]:
    await require_conversation(db, conversation_id, user.id)
    return await participants_to_wire(db, await conversations.participants(conversation_id))


@router.post(
    "/{conversation_id}/participants",
    status_code=status.HTTP_201_CREATED,
    response_model=ParticipantPublic,
)
async def add_participant(
    conversation_id: str,
    body: ParticipantIn,
    user: CurrentUser,
    conversations: ConversationsDep,
    services: ServicesDep,
) -> dict[str, Any]:
    await require_conversation(services.db, conversation_id, user.id, ADMIN)
    participant = await conversations.add_participant(conversation_id, _new(body))
    [wire] = await participants_to_wire(services.db, [participant])
    await services.bus.publish(
        conversation_id, event("participant.added", conversation_id, participant=wire)
    )
    if participant.user_id is not None:
        await announce_added(services, conversation_id, [participant.user_id])
    return wire


@router.delete(
    "/{conversation_id}/participants/{participant_id}", status_code=status.HTTP_204_NO_CONTENT
)
async def remove_participant(
    conversation_id: str,
    participant_id: str,
    user: CurrentUser,
    conversations: ConversationsDep,
    services: ServicesDep,
) -> Response:
    """Admins remove anyone; anyone may leave. Open sockets of the removed user lose the
    conversation at once, in every process, through the `participant.removed` event."""
    role = await require_conversation(services.db, conversation_id, user.id)
    mine = await conversations.participant_for_user(conversation_id, user.id)
    if (mine is None or mine.id != participant_id) and role != ADMIN:
        raise forbidden("only the conversation's admins may remove other participants")
    conversation = await conversations.get(conversation_id)
    owner = await conversations.participant_for_user(conversation_id, conversation.created_by)
    if owner is not None and owner.id == participant_id and user.id != conversation.created_by:
        raise forbidden("the owner stays; only they may leave")
    removed = await conversations.remove_participant(conversation_id, participant_id)
    await services.bus.publish(
        conversation_id,
        event(
            "participant.removed",
            conversation_id,
            participant_id=removed.id,
            user_id=removed.user_id,
            agent_id=removed.agent_id,
        ),
    )
    if removed.user_id is not None:
        reason = "left" if removed.user_id == user.id else "removed"
        await announce_removed(services, conversation_id, [removed.user_id], reason)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{conversation_id}/messages", response_model=MessagePage)
async def list_messages(
    conversation_id: str,
    user: CurrentUser,
    messages: MessagesDep,
    db: DatabaseDep,
    after_seq: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> MessagePage:
    """A page of the transcript. An `after_seq` at or above `last_seq` is an empty page (with
    the true `last_seq`); one above any seq a conversation can reach is refused (422)."""
    await require_conversation(db, conversation_id, user.id)
    page = await messages.page(conversation_id, after_seq, limit)
    return MessagePage(
        conversation_id=conversation_id,
        running_turns=await Transcript(db, conversation_id).running_turns(),
        messages=await Transcript(db, conversation_id).messages(page.messages),
        last_seq=await messages.last_seq(conversation_id),
        has_more=page.has_more,
    )


@router.post("/{conversation_id}/messages", response_model=SendAck)
async def send_message(
    conversation_id: str,
    body: MessageIn,
    response: Response,
    user: CurrentUser,
    runtime: RuntimeDep,
    services: ServicesDep,
) -> SendAck:
    """Same semantics as the websocket `send`: a repeated `client_msg_id` creates nothing and
    answers 200 with the original; a new message answers 201."""
    await require_conversation(services.db, conversation_id, user.id, MEMBER)
    check_content(body.content, services.settings.max_message_chars)
    claimed = await claim_attachments(
        services,
        conversation_id,
        user.id,
        body.client_msg_id,
        body.attachments,
        body.attachment_ids,
    )
    try:
        result = await runtime.post_user_message(
            conversation_id,
            user.id,
            body.content,
            client_msg_id=body.client_msg_id,
            attachments=claimed.attachments,
        )
    except BaseException:
        await release(services, conversation_id, claimed)
        raise
    response.status_code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
    return SendAck(
        conversation_id=conversation_id,
        client_msg_id=body.client_msg_id,
        seq=result.seq,
        created=result.created,
        message=result.message,
    )


@router.post("/{conversation_id}/cancel")
async def cancel_turn(
    conversation_id: str,
    user: CurrentUser,
    runtime: RuntimeDep,
    db: DatabaseDep,
    body: CancelIn | None = None,
) -> dict[str, Any]:
    await require_conversation(db, conversation_id, user.id, MEMBER)
    turn_id = body.turn_id if body else None
    cancelled = await runtime.cancel(conversation_id, user.id, turn_id)
    return {"conversation_id": conversation_id, "turn_id": turn_id, "cancelled": cancelled}
