"""Subscriptions of sockets to conversations, each backed by a subscription on the event bus.

Resume without loss: the bus subscription is taken FIRST, then stored messages after the
client's `after_seq` are replayed, then live events are forwarded, skipping `message` events
whose seq was already sent. Events published while the replay ran wait in the bus queue, so
nothing falls in between and nothing is sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runtime.bus import Subscription
from runtime.events import event
from server.errors import not_found
from server.transcript import Transcript
from server.ws.codes import Close
from server.ws.connection import Connection
from store.agents import Agents
from store.conversations import Conversations
from store.messages import MAX_PAGE, Messages
from store.turns import Turns

if TYPE_CHECKING:
    from server.services import Services

log = logging.getLogger(__name__)


@dataclass
class Watch:
    """One socket's subscription to one conversation."""

    conversation_id: str
    bus: Subscription
    last_seq: int
    task: asyncio.Task[None] | None = field(default=None, repr=False)
    announced_turns: set[str] = field(default_factory=set)


def user_brief(connection: Connection) -> dict[str, str]:
    assert connection.user is not None
    return {"id": connection.user.id, "name": connection.user.name}


class Hub:
    """The process's sockets by user, and their conversation subscriptions."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.by_user: dict[str, set[Connection]] = defaultdict(set)

    def register(self, connection: Connection) -> bool:
        """Count the socket against its user's limit; False when the user is at the limit."""
        assert connection.user is not None
        mine = self.by_user[connection.user.id]
        if len(mine) >= self.services.settings.max_connections_per_user:
            return False
        mine.add(connection)
        return True

    async def drop(self, connection: Connection) -> None:
        """Forget a socket that is closing: its subscriptions and presence go with it."""
        for conversation_id in list(connection.subscriptions):
            await self.unsubscribe(connection, conversation_id)
        if connection.user is not None:
            mine = self.by_user.get(connection.user.id)
            if mine is not None:
                mine.discard(connection)
                if not mine:
                    del self.by_user[connection.user.id]

    async def close(self) -> None:
        """Server shutdown: every socket is told to go away (clients resume by seq)."""
        for connections in list(self.by_user.values()):
            for connection in list(connections):
                connection.close(Close.GOING_AWAY, "server shutting down")

    async def subscribe(
        self, connection: Connection, conversation_id: str, after_seq: int, ref: Any
    ) -> None:
        assert connection.user is not None
        db = self.services.db
        role = await Conversations(db).access(conversation_id, connection.user.id)
        if role is None:
            raise not_found("conversation")
        if conversation_id in connection.subscriptions:
            await self.unsubscribe(connection, conversation_id, announce=False)
        bus = await self.services.bus.subscribe(conversation_id)
        watch = Watch(conversation_id, bus, after_seq)
        connection.subscriptions[conversation_id] = watch
        try:
            await self._replay(connection, watch)
            await self._replay_running_turns(connection, watch)
        except BaseException:
            await self.unsubscribe(connection, conversation_id, announce=False)
            raise
        connection.reply(
            {
                "type": "subscribed",
                "conversation_id": conversation_id,
                "last_seq": watch.last_seq,
                "role": role,
            },
            ref,
        )
        watch.task = asyncio.create_task(self._forward(connection, watch))
        await self.services.presence.join(conversation_id, user_brief(connection), connection.id)
        await self._announce_presence(conversation_id)

    async def unsubscribe(
        self, connection: Connection, conversation_id: str, *, announce: bool = True
    ) -> bool:
        """Stop forwarding a conversation to the socket; False if it was not subscribed."""
        watch = connection.subscriptions.pop(conversation_id, None)
        if watch is None:
            return False
        await self.services.bus.unsubscribe(watch.bus)
        if watch.task is not None and watch.task is not asyncio.current_task():
            watch.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watch.task
        if announce:
            try:
                await self.services.presence.leave(conversation_id, connection.id)
                await self._announce_presence(conversation_id)
            except Exception:  # presence is best effort; a Redis blip must not break a close
                log.warning("presence update failed for %s", conversation_id, exc_info=True)
        return True

    async def _replay(self, connection: Connection, watch: Watch) -> None:
        messages = Messages(self.services.db)
        transcript = Transcript(self.services.db, watch.conversation_id)
        while not connection.closing:
            rows = await messages.after(watch.conversation_id, watch.last_seq, MAX_PAGE)
            for wire in await transcript.messages(rows):
                await connection.send_waiting(
                    event("message", watch.conversation_id, seq=wire["seq"], message=wire)
                )
                watch.last_seq = wire["seq"]
            if len(rows) < MAX_PAGE:
                return

    async def _replay_running_turns(self, connection: Connection, watch: Watch) -> None:
        """Tell a late joiner which turns are under way, so their deltas have a home.

        The deltas sent before it joined are gone (they are ephemeral); `resumed: true` says
        so, and the stored message replaces the partial text when the turn ends.
        """
        turns = await Turns(self.services.db).running(watch.conversation_id)
        agents = Agents(self.services.db)
        for turn in turns:
            if turn.agent_id is None:
                continue
            agent = await agents.get(turn.agent_id)
            watch.announced_turns.add(turn.id)
            brief = {"id": agent.id, "name": agent.name, "handle": agent.handle}
            await connection.send_waiting(
                event(
                    "turn.start",
                    watch.conversation_id,
                    turn_id=turn.id,
                    agent=brief,
                    parent_turn_id=turn.parent_turn_id,
                    resumed=True,
                )
            )

    async def _forward(self, connection: Connection, watch: Watch) -> None:
        assert connection.user is not None
        me = connection.user.id
        async for item in watch.bus:
            kind = item.get("type")
            if kind == "message":
                seq = item.get("seq")
                if isinstance(seq, int):
                    if seq <= watch.last_seq:
                        continue
                    watch.last_seq = seq
            elif self._redundant(item, watch, me):
                continue
            elif (
                kind == "participant.removed"
                and item.get("user_id") == me
                and await self._lost_access(connection, watch)
            ):
                return
            connection.send(item)
        if watch.bus.overflowed:
            connection.abort(Close.SLOW_CONSUMER, "slow_consumer")

    @staticmethod
    def _redundant(item: dict[str, Any], watch: Watch, me: str) -> bool:
        """Events this socket must not get: its own typing, a turn.start it was already sent."""
        if item.get("type") == "typing":
            return (item.get("user") or {}).get("id") == me
        return item.get("type") == "turn.start" and item.get("turn_id") in watch.announced_turns

    async def _lost_access(self, connection: Connection, watch: Watch) -> bool:
        assert connection.user is not None
        conversations = Conversations(self.services.db)
        if await conversations.access(watch.conversation_id, connection.user.id) is not None:
            return False
        conversation_id = watch.conversation_id
        connection.error(
            "forbidden",
            "you were removed from this conversation",
            conversation_id=conversation_id,
        )
        connection.send(
            {"type": "unsubscribed", "conversation_id": conversation_id, "reason": "removed"}
        )
        await self.unsubscribe(connection, conversation_id)
        return True

    async def _announce_presence(self, conversation_id: str) -> None:
        users = await self.services.presence.members(conversation_id)
        await self.services.bus.publish(
            conversation_id, event("presence", conversation_id, users=users)
        )
