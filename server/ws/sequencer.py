"""A room's live events put back in `seq` order before they reach its sockets.

Seqs are assigned in commit order, but the events announcing them are published by whichever
task gets there first: two people posting at the same moment may publish seq 8 before seq 7.
Sending 8 and then dropping 7 (as not above the last seq sent) loses 7 for every live
subscriber, and for every client that resumes from 8.

So a `message` whose seq is not the next one holds everything behind it until the missing seq
arrives. Committed seqs have no holes (a later seq commits only after the earlier ones), so if
the event is late the message is already in the database: after `fill_after` seconds it is read
from there, and the late event, when it comes, is dropped as a duplicate. Nothing is skipped:
if the database cannot give the seq either (it is away), the room is declared stalled after a
few tries and its sockets are closed, to resume by seq, rather than muted or sent a hole.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from runtime.bus import Event

log = logging.getLogger(__name__)

FILL_AFTER_SECONDS = 0.25  # how long a missing seq may lag before it is read from the database
MAX_FILL_DELAY_SECONDS = 2.0  # retries back off up to this while the database cannot answer
FILL_ATTEMPTS = 6  # reads without progress (about 8 s) before the room is declared stalled

Emit = Callable[[Event], None]
# (after_seq, limit) -> the `message` events of the stored messages with seq > after_seq.
Fetch = Callable[[int, int], Awaitable[list[Event]]]


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def message_seq(item: Event) -> int | None:
    """The seq of a `message` event; None for every other event."""
    return _int(item.get("seq")) if item.get("type") == "message" else None


def awaited_seq(item: Event) -> int | None:
    """The seq an event that is not a message refers to (`turn.end`'s `message_seq`): it must
    not reach a client before that message."""
    return None if item.get("type") == "message" else _int(item.get("message_seq"))


class Sequencer:
    """Releases events in arrival order, except that `message` events go out in seq order,
    each seq exactly once, starting after the baseline given to `start`."""

    def __init__(
        self,
        emit: Emit,
        fetch: Fetch,
        *,
        max_held: int,
        on_stalled: Callable[[], None],
        fill_after: float = FILL_AFTER_SECONDS,
    ) -> None:
        self.emit, self.fetch = emit, fetch
        self.max_held, self.on_stalled = max_held, on_stalled
        self.fill_after = fill_after
        self.next_seq: int | None = None  # None until `start`: everything is held
        self.held: deque[Event] = deque()
        self.closed = False
        self._filler: asyncio.Task[None] | None = None

    def start(self, last_seq: int) -> None:
        """The conversation's last seq, read after the bus subscription was made: events of
        later seqs are all heard, earlier ones come from the subscribers' own replays."""
        self.next_seq = last_seq + 1
        self._drain()

    def push(self, item: Event) -> None:
        """An event from the bus, in the order the bus delivered it."""
        if self.closed:
            return
        if not self.held and self.next_seq is not None and self._ready(item):
            self._release(item)  # the common case: straight through
            return
        if len(self.held) >= self.max_held:
            self._stall()
            return
        self.held.append(item)
        self._drain()

    def _stall(self) -> None:
        log.warning("events held too long behind seq %s; resetting", self.next_seq)
        self.held.clear()
        self._stop_filling()
        self.on_stalled()

    async def close(self) -> None:
        self.closed = True
        self.held.clear()
        filler, self._filler = self._filler, None
        if filler is not None and filler is not asyncio.current_task():
            filler.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await filler

    def _drain(self) -> None:
        """Release held events from the front while the next seq is at hand."""
        if self.next_seq is None:
            return
        while self.held:
            if self._ready(self.held[0]):
                self._release(self.held.popleft())
                continue
            waited = self._find(self.next_seq)
            if waited is None:
                self._wait_for_fill()
                return
            self.held.remove(waited)
            self._release(waited)
        self._stop_filling()

    def _ready(self, item: Event) -> bool:
        """Whether the event may go now: nothing it comes after is missing."""
        assert self.next_seq is not None
        seq = message_seq(item)
        if seq is not None:
            return seq <= self.next_seq
        awaited = awaited_seq(item)
        return awaited is None or awaited < self.next_seq

    def _release(self, item: Event) -> None:
        assert self.next_seq is not None
        seq = message_seq(item)
        if seq is not None:
            if seq < self.next_seq:
                return  # a duplicate: read from the database before its event came
            self.next_seq = seq + 1
        self.emit(item)

    def _find(self, seq: int) -> Event | None:
        return next((item for item in self.held if message_seq(item) == seq), None)

    def _wait_for_fill(self) -> None:
        if self._filler is None or self._filler.done():
            self._filler = asyncio.create_task(self._fill(), name="sequencer-fill")

    def _stop_filling(self) -> None:
        filler, self._filler = self._filler, None
        if filler is not None and filler is not asyncio.current_task():
            filler.cancel()

    def _missing(self, want: int) -> int:
        """How many seqs from `want` on the held events wait for (at least one)."""
        top = want
        for item in self.held:
            seq, awaited = message_seq(item), awaited_seq(item)
            top = max(top, seq - 1 if seq is not None else awaited or 0)
        return max(1, top - want + 1)

    async def _fill(self) -> None:
        """Read the missing seqs from the database once their events are late."""
        delay, attempts = self.fill_after, 0
        try:
            while self.held and self.next_seq is not None:
                await asyncio.sleep(delay)
                want = self.next_seq
                if not self.held or want is None:
                    return
                try:
                    found = await self.fetch(want - 1, self._missing(want))
                except Exception:  # the database is away: keep holding, try again soon
                    log.warning("reading seq %s from the database failed", want, exc_info=True)
                    found = []
                # Only what continues the order is usable; the rest waits for another round.
                for item in found:
                    if message_seq(item) == self.next_seq:
                        self._release(item)
                if self.next_seq != want:
                    delay, attempts = self.fill_after, 0
                else:
                    delay, attempts = min(delay * 2, MAX_FILL_DELAY_SECONDS), attempts + 1
                    if attempts >= FILL_ATTEMPTS:
                        self._stall()
                        return
                self._drain()
        finally:
            if self._filler is asyncio.current_task():
                self._filler = None
