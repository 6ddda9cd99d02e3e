"""The turns running in this process, so a cancel (or an interrupting message) can reach them.

Only the task that runs the model is registered; the orchestration around it stays alive to
store the partial reply once the task is cancelled.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunningTurn:
    turn_id: str
    parent_turn_id: str | None
    task: asyncio.Task[Any]
    cancelled_by: dict[str, Any] | None = None


@dataclass
class TurnRegistry:
    """Running turns by conversation id, then turn id."""

    _turns: dict[str, dict[str, RunningTurn]] = field(default_factory=dict)

    def add(
        self,
        conversation_id: str,
        turn_id: str,
        task: asyncio.Task[Any],
        parent_turn_id: str | None = None,
    ) -> RunningTurn:
        running = RunningTurn(turn_id, parent_turn_id, task)
        self._turns.setdefault(conversation_id, {})[turn_id] = running
        return running

    def remove(self, conversation_id: str, turn_id: str) -> RunningTurn | None:
        turns = self._turns.get(conversation_id, {})
        running = turns.pop(turn_id, None)
        if not turns:
            self._turns.pop(conversation_id, None)
        return running

    def running(self, conversation_id: str) -> list[RunningTurn]:
        return list(self._turns.get(conversation_id, {}).values())

    def cancel(
        self, conversation_id: str, turn_id: str | None = None, *, reason: dict[str, Any]
    ) -> bool:
        """Cancel one turn, or (without `turn_id`) the top-level turns, whose cancellation
        reaches the turns they delegated to. True if something was cancelled."""
        targets = [
            running
            for running in self.running(conversation_id)
            if (running.turn_id == turn_id if turn_id else running.parent_turn_id is None)
            and not running.task.done()
        ]
        for running in targets:
            running.cancelled_by = reason
            running.task.cancel()
        return bool(targets)
