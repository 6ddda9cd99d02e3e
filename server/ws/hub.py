"""Subscriptions of sockets to conversations: one bus subscription per conversation per process.

The hub listens to a conversation's channel once (a `Room`) and fans each event out itself:
encoded to JSON once, then filtered per socket and queued straight into each socket's send
queue, with no task per socket in between.

Each room puts its events back in seq order first (`Sequencer`): events may be published in
another order than their seqs were assigned, and a late one is read from the database.

Resume without loss: the socket joins the room FIRST, holding live events, then stored messages
after the client's `after_seq` are replayed, then the held events are let through, skipping
`message` events whose seq was already sent. Nothing falls in between and nothing is sent twice.
An `after_seq` above the conversation's last seq is taken as the last seq: a client whose view
is ahead of the server (a restored database, a bug) still gets what comes next.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runtime.bus import Event, Subscription
from runtime.events import event
from server.errors import not_found
from server.message_tabs import replay_tabs
from server.transcript import Transcript
from server.turn_activity import running_turn_frames
from server.ws.codes import Close
from server.ws.connection import Connection, encode
from server.ws.edit_replay import replay_changes
from server.ws.frames import FrameError
from server.ws.presence_feed import PresenceFeed
from server.ws.sequencer import Sequencer
from store.agents import Agents
from store.conversations import Conversations
from store.messages import MAX_PAGE, MAX_SEQ, Messages
from store.turns import Turns

if TYPE_CHECKING:
    from server.services import Services

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Watch:
    """One socket's subscription to one conversation.

    `held` collects live events (with their text) while the socket may not get them yet: during
    its replay, or while a removal is checked against the database. None once it is live.
    """

    connection: Connection
    conversation_id: str
    me: str
    last_seq: int
    held: list[tuple[Event, str]] | None = field(default_factory=list)
    task: asyncio.Task[None] | None = field(default=None, repr=False)
    announced_turns: set[str] = field(default_factory=set)

    @property
    def current(self) -> bool:
        return self.connection.subscriptions.get(self.conversation_id) is self

    def send_direct(self, text: str) -> None:
        if self.current:
            self.connection.send(text)


@dataclass(eq=False)
class Room:
    """This process's sockets in one conversation, behind one bus subscription."""

    conversation_id: str
    sequencer: Sequencer
    watches: set[Watch] = field(default_factory=set)
    bus: Subscription | None = None
    opened: asyncio.Future[None] | None = None


def user_brief(connection: Connection) -> dict[str, str]:
    assert connection.user is not None
    return {"id": connection.user.id, "name": connection.user.name}


class Hub:
    """The process's sockets by user, and their conversation subscriptions."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.by_user: dict[str, set[Connection]] = defaultdict(set)
        self.rooms: dict[str, Room] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self.presence = PresenceFeed(services.presence, services.bus, self.rooms.__contains__)

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
        await self.presence.close()
        for connections in list(self.by_user.values()):
            for connection in list(connections):
                connection.close(Close.GOING_AWAY, "server shutting down")
        for room in list(self.rooms.values()):
            await room.sequencer.close()
        await asyncio.gather(*self._closing, return_exceptions=True)

    async def subscribe(
        self,
        connection: Connection,
        conversation_id: str,
        after_seq: int,
        ref: Any,
        *,
        after_edit_seq: int | None = None,
    ) -> None:
        assert connection.user is not None
        if after_seq > MAX_SEQ:
            raise FrameError(
                "invalid_frame",
                f"after_seq is above any seq a conversation can reach ({MAX_SEQ})",
                ref,
                [{"field": "after_seq", "error": f"must be at most {MAX_SEQ}"}],
            )
        db = self.services.db
        role = await Conversations(db).access(conversation_id, connection.user.id)
        if role is None:
            raise not_found("conversation")
        if conversation_id in connection.subscriptions:
            await self.unsubscribe(connection, conversation_id, announce=False)
        watch = Watch(connection, conversation_id, connection.user.id, after_seq)
        connection.subscriptions[conversation_id] = watch
        try:
            await self._enter(watch)
            if after_seq > 0:
                last_seq = await Messages(db).last_seq(conversation_id)
                watch.last_seq = min(after_seq, last_seq)
            had = watch.last_seq
            await self._replay(connection, watch)
            await replay_tabs(db, connection, conversation_id, min(after_seq, watch.last_seq))
            last_edit_seq = await replay_changes(
                db, connection, conversation_id, upto_seq=had, after_edit_seq=after_edit_seq
            )
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
                "last_edit_seq": last_edit_seq,
            },
            ref,
        )
        self._release(watch)
        await self.services.presence.join(conversation_id, user_brief(connection), connection.id)
        self.presence.changed(conversation_id, newcomer=watch)

    async def unsubscribe(
        self, connection: Connection, conversation_id: str, *, announce: bool = True
    ) -> bool:
        """Stop sending a conversation to the socket; False if it was not subscribed."""
        watch = connection.subscriptions.pop(conversation_id, None)
        if watch is None:
            return False
        await self._leave(watch)
        if watch.task is not None and watch.task is not asyncio.current_task():
            watch.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watch.task
        if announce:
            try:
                await self.services.presence.leave(conversation_id, connection.id)
                self.presence.changed(conversation_id)
            except Exception:  # presence is best effort; a Redis blip must not break a close
                log.warning("presence update failed for %s", conversation_id, exc_info=True)
        return True

    # Rooms: one bus subscription per conversation, shared by this process's sockets.

    async def _enter(self, watch: Watch) -> None:
        """Put the socket in its room, holding events, once the room hears the channel."""
        conversation_id = watch.conversation_id
        room = self.rooms.get(conversation_id)
        if room is None:
            room = self.rooms[conversation_id] = self._new_room(conversation_id)
            room.opened = asyncio.ensure_future(self._open(room))
        room.watches.add(watch)
        assert room.opened is not None
        # Shielded: one subscriber giving up must not cancel the room the others wait for.
        await asyncio.shield(room.opened)

    def _new_room(self, conversation_id: str) -> Room:
        room: Room
        sequencer = Sequencer(
            lambda item: self._fan_out(room, item),
            lambda after_seq, limit: self._stored(conversation_id, after_seq, limit),
            max_held=self.services.settings.send_queue_size,
            on_stalled=lambda: self._stalled(room),
        )
        room = Room(conversation_id, sequencer)
        return room

    async def _open(self, room: Room) -> None:
        try:
            room.bus = await self.services.bus.subscribe(
                room.conversation_id, lambda item: self._deliver(room, item)
            )
            # Read once the channel is heard: every later seq is then announced to the room.
            room.sequencer.start(await Messages(self.services.db).last_seq(room.conversation_id))
        except BaseException:
            self._discard(room)
            await self._close_room(room)
            raise
        if self.rooms.get(room.conversation_id) is not room:
            # Everyone left while the subscription was being made.
            await self._close_room(room)

    async def _close_room(self, room: Room) -> None:
        await room.sequencer.close()
        if room.bus is not None:
            await self.services.bus.unsubscribe(room.bus)

    async def _leave(self, watch: Watch) -> None:
        room = self.rooms.get(watch.conversation_id)
        if room is None or watch not in room.watches:
            return
        room.watches.discard(watch)
        if room.watches:
            return
        self._discard(room)
        # A room still opening closes itself when it finds it was discarded.
        if room.opened is not None and room.opened.done():
            await self._close_room(room)

    def _discard(self, room: Room) -> None:
        if self.rooms.get(room.conversation_id) is room:
            del self.rooms[room.conversation_id]
            self.presence.forget(room.conversation_id)

    def _deliver(self, room: Room, item: Event) -> None:
        """The bus callback: the event goes through the room's sequencer to `_fan_out`."""
        if item.get("type") == "presence":
            self.presence.seen(room.conversation_id, item.get("users"))
        room.sequencer.push(item)

    def _fan_out(self, room: Room, item: Event) -> None:
        """One event, in order, for every socket of the room, encoded once."""
        text = encode(item)
        for watch in tuple(room.watches):
            self._offer(watch, item, text)

    async def _stored(self, conversation_id: str, after_seq: int, limit: int) -> list[Event]:
        """`message` events for stored messages, for a sequencer whose event is late."""
        rows = await Messages(self.services.db).after(conversation_id, after_seq, limit)
        wires = await Transcript(self.services.db, conversation_id).messages(rows)
        return [event("message", conversation_id, seq=w["seq"], message=w) for w in wires]

    def _stalled(self, room: Room) -> None:
        """The room's events could not be put in order in time (the database is away): its
        sockets are closed, their clients resume by seq into a fresh room."""
        self._discard(room)
        for watch in tuple(room.watches):
            watch.connection.abort(Close.INTERNAL_ERROR, "events_stalled")
        room.watches.clear()
        if room.opened is not None and room.opened.done():
            task = asyncio.create_task(self._close_room(room))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    def _offer(self, watch: Watch, item: Event, text: str) -> None:
        if watch.held is not None:
            if len(watch.held) >= self.services.settings.send_queue_size:
                watch.connection.abort(Close.SLOW_CONSUMER, "slow_consumer")
                return
            watch.held.append((item, text))
            return
        if self._admit(watch, item, text):
            watch.connection.send(text)

    def _release(self, watch: Watch) -> None:
        """Let the held events through, in order, and go live."""
        held, watch.held = watch.held or [], None
        for index, (item, text) in enumerate(held):
            if watch.held is not None:  # held again (a removal to check): keep the rest
                watch.held.extend(held[index:])
                return
            if self._admit(watch, item, text):
                watch.connection.send(text)

    def _admit(self, watch: Watch, item: Event, text: str) -> bool:
        """Whether this socket gets the event: not a message it already has, not its own
        typing, not a turn.start it was already sent; a removal of its user is checked first."""
        kind = item.get("type")
        if kind == "message":
            seq = item.get("seq")
            if isinstance(seq, int):
                if seq <= watch.last_seq:
                    return False
                watch.last_seq = seq
            return True
        if kind == "typing":
            return (item.get("user") or {}).get("id") != watch.me
        if kind == "turn.start":
            return item.get("turn_id") not in watch.announced_turns
        if kind == "conversation.deleted":
            watch.held = []
            watch.task = asyncio.create_task(self._deleted(watch, text))
            return False
        if kind == "participant.removed" and item.get("user_id") == watch.me:
            watch.held = []
            watch.task = asyncio.create_task(self._check_access(watch, item, text))
            return False
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
            # Its tool calls so far, so a call waiting for approval can still be decided.
            for frame in await running_turn_frames(self.services.db, turn):
                await connection.send_waiting(frame)

    async def _deleted(self, watch: Watch, text: str) -> None:
        """The conversation was deleted: say so, then end the subscription."""
        if not watch.current:
            return
        connection, conversation_id = watch.connection, watch.conversation_id
        connection.send(text)
        connection.send(
            {"type": "unsubscribed", "conversation_id": conversation_id, "reason": "deleted"}
        )
        await self.unsubscribe(connection, conversation_id)

    async def _check_access(self, watch: Watch, item: Event, text: str) -> None:
        """Its user was removed from the conversation: cut the socket off, unless the user
        still has access (added back meanwhile), in which case the held events follow."""
        connection, conversation_id = watch.connection, watch.conversation_id
        try:
            role = await Conversations(self.services.db).access(conversation_id, watch.me)
        except Exception:
            # Neither cut off a member nor leak to a non-member: the client reconnects and
            # resubscribes, which checks access again.
            log.warning("access check failed for %s", conversation_id, exc_info=True)
            connection.abort(Close.INTERNAL_ERROR, "internal_error")
            return
        if not watch.current:
            return
        if role is None:
            connection.error(
                "forbidden",
                "you were removed from this conversation",
                conversation_id=conversation_id,
            )
            connection.send(
                {"type": "unsubscribed", "conversation_id": conversation_id, "reason": "removed"}
            )
            await self.unsubscribe(connection, conversation_id)
            return
        connection.send(text)
        self._release(watch)
