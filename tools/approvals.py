"""Human approval of tool calls, across processes.

The decision is written to the call's `tool_calls` row, so any process may decide and any may
wait: the waiter polls the row's status (one indexed read every `poll_interval`), and a decision
made through the same gate in the same process also wakes it at once through an asyncio.Event.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from store.db import Database
from store.enums import ToolCallStatus
from store.models import ToolCall
from store.tools import Tools
from tools.errors import APPROVAL_TIMEOUT

DEFAULT_APPROVAL_TIMEOUT = 300.0


class ApprovalGate:
    """Where tool calls wait for a person's decision. One per process is enough."""

    def __init__(
        self,
        db: Database,
        *,
        poll_interval: float = 0.2,
        timeout: float = DEFAULT_APPROVAL_TIMEOUT,
    ) -> None:
        self.tools = Tools(db)
        self.poll_interval = poll_interval
        self.timeout = timeout
        self._waiters: dict[str, asyncio.Event] = {}

    async def decide(self, tool_call_id: str, approved: bool, user_id: str | None) -> ToolCall:
        """Approve or deny a waiting call (Conflict if it is not waiting any more)."""
        row = await self.tools.set_decision(tool_call_id, approved, user_id)
        waiter = self._waiters.get(tool_call_id)
        if waiter is not None:
            waiter.set()
        return row

    def timeout_for(self, within: float | None) -> float:
        """How long `wait(..., within)` waits: `within`, or the gate's own time-out."""
        return self.timeout if within is None else within

    async def wait(self, tool_call_id: str, within: float | None = None) -> bool | None:
        """True once approved, False once denied, None if nobody decided in time.

        On time-out the row is closed as `timeout` so that a late decision is refused.
        """
        timeout = self.timeout_for(within)
        deadline = time.monotonic() + timeout
        event = self._waiters.setdefault(tool_call_id, asyncio.Event())
        try:
            while True:
                # Cleared before the read, so a decision landing after it still wakes us.
                event.clear()
                status = await self.tools.call_status(tool_call_id)
                if status in (ToolCallStatus.APPROVED, ToolCallStatus.DENIED):
                    return status == ToolCallStatus.APPROVED
                left = deadline - time.monotonic()
                if left <= 0:
                    if await self.tools.expire_approval(tool_call_id, _expired(timeout)):
                        return None
                    continue
                try:
                    async with asyncio.timeout(min(self.poll_interval, left)):
                        await event.wait()
                except TimeoutError:
                    pass
        finally:
            self._waiters.pop(tool_call_id, None)


def approval_state(row: ToolCall) -> str | None:
    """Where a call stands with a person: `pending`, `approved`, `denied` or `timeout` (nobody
    decided in time); None for a call that never waited for one."""
    if row.status == ToolCallStatus.PENDING_APPROVAL.value:
        return "pending"
    if row.decided_by is not None:
        return "denied" if row.status == ToolCallStatus.DENIED.value else "approved"
    if (row.error or "").startswith(f"{APPROVAL_TIMEOUT}:"):
        return "timeout"
    return None


def decision_fields(row: ToolCall, decider_name: str | None) -> dict[str, Any]:
    """How a call's wait for approval ended, as the `tool.decision` frame and the transcript
    show it: `status` (see `approval_state`), who decided and when, and, for a call nobody
    decided, why (`reason`)."""
    decided = row.decided_by is not None
    return {
        "status": approval_state(row),
        "decided_by": {"id": row.decided_by, "name": decider_name} if decided else None,
        "decided_at": row.decided_at.isoformat() if row.decided_at else None,
        "reason": None if decided else _reason(row.error),
    }


def _reason(error: str | None) -> str | None:
    # Stored errors are "<code>: <message>"; people read the message.
    if not error:
        return None
    return error.split(": ", 1)[1] if ": " in error else error


def _expired(timeout: float) -> str:
    return f"{APPROVAL_TIMEOUT}: no decision within {timeout:g} s"
