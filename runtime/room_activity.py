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


class _Pending:
    """What a conversation's next announcement covers: its newest message, each author's
    newest seq, and the messages that may notify someone (in order)."""

    def __init__(self) -> None:
        self.latest: dict[str, Any] | None = None
        self.authored: dict[str, int] = {}
        self.notifying: list[dict[str, Any]] = []

    def add(self, message: dict[str, Any]) -> None:
        seq = int(message["seq"])
        if self.latest is None or seq > int(self.latest["seq"]):
            self.latest = message
        author = (message.get("author") or {}).get("user_id")
        if author is not None:
            self.authored[author] = max(seq, self.authored.get(author, 0))
        if _may_notify(message):
            self.notifying.append(message)


def _may_notify(message: dict[str, Any]) -> bool:
    """A mention, or an agent's reply (its asker may be elsewhere): only these can notify."""
    author = message.get("author") or {}
    if author.get("kind") == "agent" and message.get("turn_id"):
        return True
    return bool(parse_mentions(message.get("content") or ""))


class RoomActivity:
    """Turns stored messages into per-person list updates and notifications.

    Announcements are coalesced per conversation: while one is under way, the messages that
    arrive wait for the next, which sends each person one `conversation.activity` for the
    newest of them (a busy room costs a few list updates, not one per message per person).
    Notifications are still one per notifying message."""

    def __init__(self, db: Database, bus: EventBus, presence: Presence) -> None:
        self.db, self.bus, self.presence = db, bus, presence
        self.reads = ReadPositions(db)
        self.notifications = Notifications(db)
        self._pending: dict[str, _Pending] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._closed = False

    def message_stored(self, conversation_id: str, message: dict[str, Any]) -> None:
        """The runtime's hook, called once per new message after its room heard it."""
        if self._closed or message.get("kind") != "participant":
            return
        self._pending.setdefault(conversation_id, _Pending()).add(message)
        if conversation_id not in self._tasks:
            task = asyncio.create_task(self._drain(conversation_id))
            self._tasks[conversation_id] = task

    async def settle(self) -> None:
        """Wait for the announcements under way (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def close(self) -> None:
        self._closed = True
        await self.settle()

    async def _drain(self, conversation_id: str) -> None:
        try:
            while (pending := self._pending.pop(conversation_id, None)) is not None:
                try:
                    await self._announce_to_each(conversation_id, pending)
                except Exception:  # best effort: the messages are stored and delivered
                    log.warning("announcing activity in %s failed", conversation_id, exc_info=True)
        finally:
            self._tasks.pop(conversation_id, None)

    async def _announce_to_each(self, conversation_id: str, pending: _Pending) -> None:
        message = pending.latest
        assert message is not None
        author = message.get("author") or {}
        seq = int(message["seq"])
        preview = {"seq": seq, "author": author.get("name"), "text": shorten(message["content"])}
        recipients = await self.reads.recipients(conversation_id)
        for person in recipients:
            own = pending.authored.get(person.user_id)
            if own is not None:
                state = await self.reads.mark_read(conversation_id, person.user_id, own)
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
        for notifying in pending.notifying:
            await self._notify(conversation_id, notifying, recipients)

    async def _notify(
        self, conversation_id: str, message: dict[str, Any], recipients: list[Recipient]
    ) -> None:
        author = message.get("author") or {}
        preview = shorten(message["content"])
        wanted = await self._notified(conversation_id, message, recipients)
        for person in recipients:
            kind = wanted.get(person.user_id)
            if kind is None:
                continue
            row = await self.notifications.add(
                person.user_id,
                conversation_id,
                int(message["seq"]),
                kind,
                author.get("name"),
                preview,
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
