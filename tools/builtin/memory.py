"""`remember` and `recall`: an agent's long-term memory, per agent, per user, per group.

Who the memory is about comes from the injected context, never from the model: a model can
only choose the scope, so it cannot write into, or read from, another user's memories.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from store.memories import Memories
from store.models import Memory
from tools.context import ToolContext
from tools.errors import ToolError
from tools.registry import tool

MAX_RECALL = 20


@tool
async def remember(
    content: str,
    scope: Literal["agent", "user", "group"] = "user",
    tags: list[str] | None = None,
    *,
    ctx: ToolContext,
) -> dict[str, Any]:
    """Save a fact to long-term memory so it can be recalled in later conversations.

    Args:
        content: The fact to remember, self-contained (e.g. "Dana prefers metric units").
        scope: Whose memory it is: "user" (about the person you are talking to, the default),
            "group" (shared by this conversation's group) or "agent" (general knowledge).
        tags: Optional keywords that help find it again.
    """
    agent_id = _required(ctx.agent_id, "no agent is calling")
    user_id = group_id = None
    if scope == "user":
        user_id = _required(ctx.user_id, "there is no user to remember this for")
    elif scope == "group":
        group_id = _required(
            ctx.group_id, 'this conversation has no group; use scope "user" or "agent"'
        )
    source = {
        "conversation_id": ctx.conversation_id,
        "message_seq": ctx.message_seq,
        "turn_id": ctx.turn_id,
        "tool_call_id": ctx.tool_call_id,
    }
    memory = await Memories(ctx.db).add(
        agent_id,
        scope,
        content,
        user_id=user_id,
        group_id=group_id,
        source={k: v for k, v in source.items() if v is not None},
        tags=tags,
    )
    return {"remembered": memory.id, "scope": scope}


@tool
async def recall(
    query: str,
    limit: Annotated[int, Field(ge=1, le=MAX_RECALL)] = 5,
    *,
    ctx: ToolContext,
) -> list[dict[str, Any]]:
    """Search long-term memory for facts relevant to a query, most relevant first.

    Args:
        query: What to look for, in a few words.
        limit: How many memories to return at most.
    """
    agent_id = _required(ctx.agent_id, "no agent is calling")
    found = await Memories(ctx.db).recall(
        agent_id, query, user_id=ctx.user_id, group_id=ctx.group_id, limit=limit
    )
    return [_public(m) for m in found]


def _public(memory: Memory) -> dict[str, Any]:
    return {
        "id": memory.id,
        "content": memory.content,
        "scope": memory.scope,
        "tags": memory.tags or [],
        "source": memory.source or {},
        "created_at": memory.created_at.isoformat(),
    }


def _required(value: str | None, problem: str) -> str:
    if not value:
        raise ToolError(problem, code="missing_context")
    return value
