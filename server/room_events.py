"""Announcing changes to a conversation: to its room, and to each reader's own channel.

Room events (`participant.*`, `conversation.deleted`) go to the sockets subscribed to the
conversation; list events (`conversation.added`, `.updated`, `.removed`) go to the user channel
of everyone who reads it, so conversation lists and open rooms change live in every process.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from runtime.events import event
from runtime.user_events import publish_to_users, user_event
from server.schemas.conversations import ConversationPublic
from server.schemas.groups import MemberPublic
from server.services import Services
from store.conversations import Conversations
from store.group_directory import member_names
from store.models import Conversation
from store.read_positions import ReadPositions


async def list_items(
    services: Services, user_id: str, conversations: list[Conversation]
) -> list[ConversationPublic]:
    """Conversations as the user's list shows them: with their unread count, read position,
    mute flag, role and the latest message."""
    reads = ReadPositions(services.db)
    ids = [c.id for c in conversations]
    states = await reads.states(user_id, ids)
    previews = await reads.previews(ids)
    store = Conversations(services.db)
    items = []
    for conversation in conversations:
        item = ConversationPublic.model_validate(conversation)
        state, preview = states[conversation.id], previews.get(conversation.id)
        item.unread, item.last_read_seq, item.muted = state.unread, state.last_read_seq, state.muted
        item.role = await store.access(conversation.id, user_id)
        if preview is not None:
            item.last_message = {"seq": preview.seq, "author": preview.author, "text": preview.text}
        items.append(item)
    return items


def summary(conversation: Conversation) -> dict[str, Any]:
    """What a `conversation.updated` frame carries: the fields a list or a room header shows."""
    return {
        "id": conversation.id,
        "title": conversation.title,
        "policy": conversation.policy or {},
        "group_id": conversation.group_id,
        "created_by": conversation.created_by,
        "archived_at": conversation.archived_at.isoformat() if conversation.archived_at else None,
    }


async def readers(services: Services, conversation_id: str) -> list[str]:
    return [r.user_id for r in await ReadPositions(services.db).recipients(conversation_id)]


async def announce_added(services: Services, conversation_id: str, user_ids: Iterable[str]) -> None:
    """Each user now reads the conversation: it appears in their list at once."""
    conversation = await Conversations(services.db).get(conversation_id)
    for user_id in dict.fromkeys(user_ids):
        [item] = await list_items(services, user_id, [conversation])
        await publish_to_users(
            services.bus,
            [user_id],
            user_event(
                "conversation.added", conversation_id, conversation=item.model_dump(mode="json")
            ),
        )


async def announce_updated(services: Services, conversation: Conversation) -> None:
    await publish_to_users(
        services.bus,
        await readers(services, conversation.id),
        user_event("conversation.updated", conversation.id, conversation=summary(conversation)),
    )


async def announce_removed(
    services: Services, conversation_id: str, user_ids: Iterable[str], reason: str
) -> None:
    """The users no longer read the conversation (`removed`, `left` or `deleted`)."""
    await publish_to_users(
        services.bus, user_ids, user_event("conversation.removed", conversation_id, reason=reason)
    )


async def announce_deleted(services: Services, conversation_id: str, user_ids: list[str]) -> None:
    await services.bus.publish(conversation_id, event("conversation.deleted", conversation_id))
    await announce_removed(services, conversation_id, user_ids, "deleted")


async def named_members(db: Any, members: list[Any]) -> list[dict[str, Any]]:
    """Group members with their display names (and agents' handles), for the groups page."""
    names = await member_names(db, members)
    return [
        {
            **MemberPublic.model_validate(m).model_dump(),
            "name": names[m.id][0],
            "handle": names[m.id][1],
        }
        for m in members
    ]
