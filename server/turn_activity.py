"""What agents did in their turns, read back from the store: tool calls (with the approval a call
waited for) and hand-offs between agents.

Live, a page learns these from `tool.*` frames; after a reload, or on a client that joined
later, the same facts come from the `tool_calls` rows: on each stored agent message
(`tool_calls`, `delegated_by`), and for the turns still running as the frames a subscriber
would have seen (`resumed: true`), so a call waiting for approval can still be decided.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from runtime.events import event
from store.db import Database
from store.enums import ToolCallStatus
from store.models import AgentTurn, ToolCall
from store.tools import Tools
from store.users import Users
from tools.approvals import approval_state, decision_fields

WAITING = (ToolCallStatus.PENDING_APPROVAL.value, ToolCallStatus.APPROVED.value)


def split_error(error: str | None) -> tuple[str | None, str | None]:
    """Stored errors read `<code>: <message>`."""
    if not error:
        return None, None
    code, sep, message = error.partition(": ")
    return (code, message) if sep else (None, error)


def call_to_wire(row: ToolCall, deciders: Mapping[str, str]) -> dict[str, Any]:
    """A tool call as the transcript shows it; `approval` only for a call that waited for one."""
    wire: dict[str, Any] = {
        "tool_call_id": row.id,
        "call_id": row.call_id,
        "tool": row.tool_name,
        "arguments": row.arguments or {},
        "status": row.status,
        "duration_ms": row.duration_ms,
    }
    code, message = split_error(row.error)
    if row.status == ToolCallStatus.OK.value:
        wire["result"] = row.result
    elif message is not None:
        wire["error"], wire["code"] = message, code
    if approval_state(row) is not None:
        wire["approval"] = decision_fields(row, deciders.get(row.decided_by or ""))
    return wire


async def decider_names(db: Database, rows: Iterable[ToolCall]) -> dict[str, str]:
    ids = sorted({row.decided_by for row in rows if row.decided_by})
    return {user.id: user.name for user in await Users(db).many(ids)}


async def calls_by_turn(db: Database, turn_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """turn id -> its tool calls in wire shape, oldest first (two queries for a whole page)."""
    rows = await Tools(db).calls_for_turns(turn_ids)
    names = await decider_names(db, rows)
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row.turn_id or "", []).append(call_to_wire(row, names))
    return found


def replay_frames(conversation_id: str, turn_id: str, call: dict[str, Any]) -> list[dict[str, Any]]:
    """The frames a live subscriber saw for one call so far, in the order they were sent."""
    ids = {"turn_id": turn_id, "call_id": call["call_id"], "tool": call["tool"], "resumed": True}
    ids["tool_call_id"] = call["tool_call_id"]
    frames = [event("tool.call", conversation_id, **ids, arguments=call["arguments"])]
    approval = call.get("approval")
    if approval is not None:
        frames.append(event("tool.approval", conversation_id, **ids, arguments=call["arguments"]))
        if approval["status"] != "pending":
            frames.append(event("tool.decision", conversation_id, **ids, **approval))
    if call["status"] not in WAITING:
        ended = {
            k: call[k] for k in ("status", "duration_ms", "result", "error", "code") if k in call
        }
        frames.append(event("tool.result", conversation_id, **ids, **ended))
    return frames


async def running_turn_frames(db: Database, turn: AgentTurn) -> list[dict[str, Any]]:
    """`tool.*` frames of a turn still running, for a socket that (re)subscribes mid-turn."""
    calls = (await calls_by_turn(db, [turn.id])).get(turn.id, [])
    return [f for call in calls for f in replay_frames(turn.conversation_id, turn.id, call)]
