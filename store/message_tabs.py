"""Message tabs: the seed's now/top/todo/done label and free tags that people put on a message.

A tab is not the message's delivery `status` (complete, cancelled, failed): both are kept.
Every change stamps `tagged_at`, which orders concurrent changes for clients and lets a client
that resumes with `after_seq` catch up on the messages it already held.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from store.base import utcnow
from store.db import Database
from store.enums import MessageTab
from store.errors import InvalidValue, NotFound
from store.models import ConversationMessage

MAX_TAGS = 10
MAX_TAG_CHARS = 32
# How many earlier messages' tab states a resuming client is sent (newest first).
MAX_RESUMED = 1000
_KEEP: Any = object()


@dataclass(frozen=True)
class TabState:
    """A message's tab and tags as of `tagged_at`."""

    message_id: str
    seq: int
    tab: str | None
    tags: list[str]
    tagged_at: datetime | None


def clean_tags(tags: list[str]) -> list[str]:
    """Tags trimmed and without repeats (first spelling kept, compared case-insensitively);
    `InvalidValue` when there are too many, one is empty or too long."""
    cleaned: list[str] = []
    seen: set[str] = set()
    for raw in tags:
        tag = " ".join(raw.split())
        if not tag or len(tag) > MAX_TAG_CHARS:
            raise InvalidValue("conversation_messages", "tags", raw, f"1-{MAX_TAG_CHARS} chars")
        if tag.casefold() not in seen:
            seen.add(tag.casefold())
            cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        raise InvalidValue("conversation_messages", "tags", len(cleaned), f"at most {MAX_TAGS}")
    return cleaned


def _state(message: ConversationMessage) -> TabState:
    return TabState(
        message.id, message.seq, message.tab, list(message.tags or []), message.tagged_at
    )


class MessageTabs:
    """Reads and changes the tabs and tags of one conversation's messages."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def set(
        self,
        conversation_id: str,
        message_id: str,
        *,
        tab: str | None = _KEEP,
        tags: list[str] = _KEEP,
    ) -> TabState:
        """Change what was given (`tab=None` clears the tab); `NotFound` for a message that is
        not in this conversation, so ids of other rooms cannot be probed."""
        if tab is not _KEEP and tab is not None and tab not in set(MessageTab):
            expected = ", ".join(t.value for t in MessageTab)
            raise InvalidValue("conversation_messages", "tab", tab, expected)
        async with self.db.session() as session:
            message = await session.scalar(
                select(ConversationMessage)
                .where(
                    ConversationMessage.id == message_id,
                    ConversationMessage.conversation_id == conversation_id,
                )
                .with_for_update()
            )
            if message is None:
                raise NotFound("conversation_messages", message_id)
            if tab is not _KEEP:
                message.tab = tab
            if tags is not _KEEP:
                message.tags = clean_tags(tags)
            message.tagged_at = utcnow()
            return _state(message)

    async def changed_up_to(self, conversation_id: str, seq: int) -> list[TabState]:
        """Messages up to `seq` whose tab or tags were ever changed, oldest first (at most
        `MAX_RESUMED`, the newest ones): what a client resuming after `seq` may have missed."""
        async with self.db.read() as session:
            rows = await session.scalars(
                select(ConversationMessage)
                .where(
                    ConversationMessage.conversation_id == conversation_id,
                    ConversationMessage.seq <= seq,
                    ConversationMessage.tagged_at.is_not(None),
                )
                .order_by(ConversationMessage.seq.desc())
                .limit(MAX_RESUMED)
            )
            return [_state(m) for m in reversed(list(rows))]
