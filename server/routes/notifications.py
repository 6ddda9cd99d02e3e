"""A person's notifications: mentions of them and agents' replies to them. Only their own."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from runtime.room_activity import notification_to_wire
from server.deps import CurrentUser, DatabaseDep
from server.schemas.rooms import NotificationsReadIn
from store.notifications import Notifications

router = APIRouter(prefix="/api/notifications", tags=["notifications"])


@router.get("")
async def list_notifications(
    user: CurrentUser, db: DatabaseDep, unread: bool = False
) -> dict[str, Any]:
    """Newest first (at most 50), with the number still unread."""
    notes = Notifications(db)
    rows = await notes.list_for_user(user.id, unread_only=unread)
    return {
        "notifications": [notification_to_wire(r) for r in rows],
        "unread": await notes.unread_count(user.id),
    }


@router.post("/read")
async def mark_notifications_read(
    body: NotificationsReadIn, user: CurrentUser, db: DatabaseDep
) -> dict[str, Any]:
    notes = Notifications(db)
    marked = await notes.mark_read(user.id, ids=body.ids, conversation_id=body.conversation_id)
    return {"marked": marked, "unread": await notes.unread_count(user.id)}
