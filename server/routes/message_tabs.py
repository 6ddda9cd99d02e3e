"""Message tabs: participants who may post (members, admins) put a message under a tab
(now/top/todo/done) and tag it; everyone in the room sees the change live (`message.tagged`).

Observers read tabs but may not change them (403); a message of another conversation, or a
conversation the caller cannot see, is 404 as if it did not exist.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from server.access import require_conversation
from server.deps import CurrentUser, ServicesDep
from server.message_tabs import tagged_frame
from server.schemas.message_tabs import TabsIn, TabsPublic
from store.enums import Role
from store.message_tabs import MessageTabs

router = APIRouter(prefix="/api/conversations", tags=["message tabs"])


@router.patch("/{conversation_id}/messages/{message_id}/tabs", response_model=TabsPublic)
async def set_message_tabs(
    conversation_id: str,
    message_id: str,
    body: TabsIn,
    user: CurrentUser,
    services: ServicesDep,
) -> dict[str, Any]:
    await require_conversation(services.db, conversation_id, user.id, Role.MEMBER.value)
    changes: dict[str, Any] = {}
    if "tab" in body.model_fields_set:
        changes["tab"] = body.tab
    if "tags" in body.model_fields_set:
        changes["tags"] = body.tags or []
    state = await MessageTabs(services.db).set(conversation_id, message_id, **changes)
    frame = tagged_frame(conversation_id, state, {"id": user.id, "name": user.name})
    await services.bus.publish(conversation_id, frame)
    return {key: value for key, value in frame.items() if key != "type"}
