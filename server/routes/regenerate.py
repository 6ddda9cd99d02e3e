"""`POST /api/conversations/{id}/messages/{seq}/regenerate`: another version of an agent reply.

Whoever may send (member, admin) may regenerate. The request is stored first (a `regenerate`
message with its own seq, owed an answer like a send), then answered by the agent that wrote
the reply; the new version's `meta.regenerates` names the one it replaces.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from server.access import require_conversation
from server.deps import CurrentUser, RuntimeDep, ServicesDep
from server.schemas.message_edits import RegenerateAck, RegenerateIn
from store.enums import Role
from store.messages import MAX_SEQ

router = APIRouter(prefix="/api/conversations", tags=["messages"])


@router.post(
    "/{conversation_id}/messages/{seq}/regenerate",
    response_model=RegenerateAck,
    status_code=status.HTTP_202_ACCEPTED,
)
async def regenerate_reply(
    conversation_id: str,
    seq: Annotated[int, Path(ge=1, le=MAX_SEQ)],
    response: Response,
    user: CurrentUser,
    runtime: RuntimeDep,
    services: ServicesDep,
    body: RegenerateIn | None = None,
) -> RegenerateAck:
    """202 with the stored request; a repeated `client_msg_id` stores nothing (200)."""
    await require_conversation(services.db, conversation_id, user.id, Role.MEMBER.value)
    result = await runtime.post_regenerate(
        conversation_id, user.id, seq, client_msg_id=body.client_msg_id if body else None
    )
    if not result.created:
        response.status_code = status.HTTP_200_OK
    return RegenerateAck(
        conversation_id=conversation_id,
        seq=result.seq,
        created=result.created,
        message=result.message,
    )
