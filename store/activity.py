"""Activity log rows written inside the caller's transaction.

A student's action and its `user_activity_log` row commit together or not at all, so the log
never claims an action that was rolled back, nor misses one that was stored.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from store.base import utcnow
from store.models import UserActivityLog


def add_activity(
    session: AsyncSession,
    user_id: str,
    action_type: str,
    *,
    action_ref: str | None = None,
    details: Any = None,
    created_by: str | None = None,
) -> UserActivityLog:
    """Add one log row to `session`'s transaction (flushed with the action it records)."""
    row = UserActivityLog(
        user_id=user_id,
        action_type=action_type,
        action_ref=action_ref,
        details=details,
        created_by=created_by,
        timestamp=utcnow(),
    )
    session.add(row)
    return row
