"""What a stored message means for each person who reads the conversation.

After a message is announced in its room, everyone else who reads the conversation gets a
`conversation.activity` frame on their own channel (the new preview and their unread count), so
their conversation list moves without their subscribing to every room. The author's read
position moves to their own message. A person @mentioned by name, or whose message an agent
just answered while they are not in the room, also gets a stored notification and a
`notification` frame, unless they muted the conversation.

This runs beside the turn, not in it: a slow list update never delays a reply.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from runtime.bus import EventBus
from runtime.presence import Presence
from runtime.router import parse_mentions
from runtime.user_events import publish_to_users, user_event
from store.db import Database
from store.notifications import MENTION, REPLY, Notifications, trigger_author
from store.read_positions import ReadPositions, Recipient, shorten

log = logging.getLogger(__name__)


def person_handle(name: str) -> str:
    """How a person is @mentioned: their name, lower case, spaces as underscores (what the
    page's mention picker inserts)."""
    return "_".join(name.lower().split())


def notification_to_wire(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "conversation_id": row.conversation_id,
        "seq": row.seq,
        "actor_name": row.actor_name,
        "preview": row.preview,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "read_at": row.read_at.isoformat() if row.read_at else None,
    }


class RoomActivity:
    """Turns stored messages into per-person list updates and notifications."""

    def __init__(self, db: Database, bus: EventBus, presence: Presence) -> None:
        self.db, self.bus, self.presence = db, bus, presence
        self.reads = ReadPositions(db)
        self.notifications = Notifications(db)
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    def message_stored(self, conversation_id: str, message: dict[str, Any]) -> None:
        """The runtime's hook, called once per new message after its room heard it."""
        if self._closed or message.get("kind") != "participant":
            return
        task = asyncio.create_task(self._announce(conversation_id, message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        """Wait for the announcements under way (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        self._closed = True
        await self.settle()

    async def _announce(self, conversation_id: str, message: dict[str, Any]) -> None:
        try:
            await self._announce_to_each(conversation_id, message)
        except Exception:  # best effort: the message itself is stored and delivered
            log.warning("announcing activity in %s failed", conversation_id, exc_info=True)

    async def _announce_to_each(self, conversation_id: str, message: dict[str, Any]) -> None:
        author = message.get("author") or {}
        author_user = author.get("user_id")
        seq = int(message["seq"])
        preview = {"seq": seq, "author": author.get("name"), "text": shorten(message["content"])}
        recipients = await self.reads.recipients(conversation_id)
        wanted = await self._notified(conversation_id, message, recipients)
        for person in recipients:
            if person.user_id == author_user:
                state = await self.reads.mark_read(conversation_id, person.user_id, seq)
            else:
                state = await self.reads.state(conversation_id, person.user_id)
            await publish_to_users(
                self.bus,
                [person.user_id],
                user_event(
                    "conversation.activity",
                    conversation_id,
                    seq=seq,
                    last_message_time=message.get("created_at"),
                    last_message=preview,
                    unread=state.unread,
                    last_read_seq=state.last_read_seq,
                    muted=state.muted,
                ),
            )
            kind = wanted.get(person.user_id)
            if kind is None:
                continue
            row = await self.notifications.add(
                person.user_id, conversation_id, seq, kind, author.get("name"), preview["text"]
            )
            await publish_to_users(
                self.bus,
                [person.user_id],
                user_event(
                    "notification",
                    conversation_id,
                    notification=notification_to_wire(row),
                    unread_notifications=await self.notifications.unread_count(person.user_id),
                ),
            )

    async def _notified(
        self, conversation_id: str, message: dict[str, Any], recipients: list[Recipient]
    ) -> dict[str, str]:
        """Who gets a notification for this message, and why (mention wins over reply)."""
        author = message.get("author") or {}
        mentioned = set(parse_mentions(message.get("content") or ""))
        replied_to = None
        if author.get("kind") == "agent" and message.get("turn_id"):
            replied_to = await trigger_author(self.db, message["turn_id"])
        present: set[str] | None = None
        wanted: dict[str, str] = {}
        for person in recipients:
            if person.muted or person.user_id == author.get("user_id"):
                continue
            if person_handle(person.name) in mentioned:
                wanted[person.user_id] = MENTION
            elif person.user_id == replied_to:
                if present is None:
                    present = {m["id"] for m in await self.presence.members(conversation_id)}
                if person.user_id not in present:
                    wanted[person.user_id] = REPLY
        return wanted
