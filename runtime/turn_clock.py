"""A turn's running time, which stops while the turn waits for a person.

The turn timeout bounds what an agent does (model calls, tools), not how long people take to
approve a tool call: that wait has its own bound (`approval_timeout_seconds`). A delegated turn
runs inside its caller's task, so its clock is nested in the caller's: pausing the delegate's
clock pauses every clock above it, and the caller's timeout does not fire while a person decides
on the delegate's tool call.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from collections.abc import Iterator
from typing import Any

_ACTIVE: contextvars.ContextVar[TurnClock | None] = contextvars.ContextVar(
    "elevate_turn_clock", default=None
)


class TurnClock:
    """Counts a turn's active time; `paused()` stops it, `wait()` enforces a limit on it."""

    def __init__(self, parent: TurnClock | None = None) -> None:
        self.parent = parent
        self._holds = 0
        self._paused_since = 0.0
        self._paused_total = 0.0
        self._changed = asyncio.Event()

    @classmethod
    def nested(cls) -> TurnClock:
        """A clock for a new turn, nested in the clock of the turn running this code (if any)."""
        return cls(_ACTIVE.get())

    @contextlib.contextmanager
    def active(self) -> Iterator[TurnClock]:
        """Within the block, turns started from the current task nest in this clock."""
        token = _ACTIVE.set(self)
        try:
            yield self
        finally:
            _ACTIVE.reset(token)

    @property
    def is_paused(self) -> bool:
        return self._holds > 0

    def paused_seconds(self) -> float:
        """Time spent paused so far, the current pause included."""
        now = time.monotonic()
        return self._paused_total + (now - self._paused_since if self._holds else 0.0)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Stop this clock (and the clocks it is nested in) for the `with` block."""
        with contextlib.ExitStack() as stack:
            if self.parent is not None:
                stack.enter_context(self.parent.paused())
            self._hold()
            try:
                yield
            finally:
                self._release()

    def _hold(self) -> None:
        if self._holds == 0:
            self._paused_since = time.monotonic()
        self._holds += 1
        self._changed.set()

    def _release(self) -> None:
        self._holds -= 1
        if self._holds == 0:
            self._paused_total += time.monotonic() - self._paused_since
        self._changed.set()

    async def wait(self, task: asyncio.Task[Any], limit: float) -> bool:
        """Wait for `task` while its active time stays within `limit` seconds: True when it
        finished, False when the limit ran out. Like `asyncio.wait`, it never cancels `task`."""
        started, paused_before = time.monotonic(), self.paused_seconds()
        while not task.done():
            left = None
            if not self._holds:
                active = time.monotonic() - started - (self.paused_seconds() - paused_before)
                left = limit - active
                if left <= 0:
                    return False
            self._changed.clear()
            changed = asyncio.ensure_future(self._changed.wait())
            try:
                await asyncio.wait({task, changed}, timeout=left, return_when="FIRST_COMPLETED")
            finally:
                changed.cancel()
        return True
