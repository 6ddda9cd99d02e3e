"""Registered tools, and approval decisions on tool calls that wait for a person."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from server.access import require_conversation
from server.deps import CurrentUser, DatabaseDep, ToolsDep
from server.errors import ApiError, not_found
from server.schemas.agents import ToolPublic
from server.schemas.conversations import DecisionIn
from store.enums import Role
from store.errors import Conflict, NotFound

router = APIRouter(prefix="/api", tags=["tools"])


@router.get("/tools", response_model=list[ToolPublic])
async def list_tools(user: CurrentUser, tools: ToolsDep) -> list[Any]:
    return await tools.list()


@router.post("/tool-calls/{tool_call_id}/decision")
async def decide(
    tool_call_id: str, body: DecisionIn, user: CurrentUser, tools: ToolsDep, db: DatabaseDep
) -> dict[str, Any]:
    """Approve or deny a call waiting for approval (members and admins of its conversation)."""
    try:
        call = await tools.get_call(tool_call_id)
    except NotFound:
        raise not_found("tool call") from None
    if call.conversation_id is None:
        raise not_found("tool call")
    await require_conversation(db, call.conversation_id, user.id, Role.MEMBER.value)
    try:
        decided = await tools.set_decision(tool_call_id, body.approved, user.id)
    except Conflict:
        raise await _already_decided(tools, tool_call_id) from None
    return {
        "id": decided.id,
        "conversation_id": decided.conversation_id,
        "turn_id": decided.turn_id,
        "tool": decided.tool_name,
        "status": decided.status,
        "decided_by": decided.decided_by,
    }


async def _already_decided(tools: ToolsDep, tool_call_id: str) -> ApiError:
    """409 `already_decided`: someone else decided first, time ran out, or the turn ended."""
    call = await tools.get_call(tool_call_id)
    return ApiError(
        409,
        "already_decided",
        f"this call is no longer waiting for approval (it is {call.status})",
        details={"status": call.status, "decided_by": call.decided_by},
    )
