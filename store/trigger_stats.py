"""How much answering is waiting, across every process: for the metrics endpoint."""

from __future__ import annotations

from sqlalchemy import func, select

from store.db import Database
from store.models import Conversation


async def owed_conversations(db: Database) -> int:
    """Conversations with a message still owed an answer (queued or running now)."""
    async with db.read() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Conversation)
            .where(Conversation.trigger_seq > Conversation.handled_seq)
        )
    return int(count or 0)
