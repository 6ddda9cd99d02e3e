"""The `message.tagged` frame, live and on resume.

Each frame carries a message's whole tab state with its `tagged_at`, so a client applies frames
idempotently and keeps the newest when a replayed one and a live one cross.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runtime.events import event
from runtime.wire import iso
from store.db import Database
from store.message_tabs import MessageTabs, TabState

if TYPE_CHECKING:
    from server.ws.connection import Connection


def tagged_frame(
    conversation_id: str, state: TabState, by: dict[str, Any] | None
) -> dict[str, Any]:
    """`message.tagged` {message_id, seq, tab, tags, tagged_at, tagged_by}."""
    return event(
        "message.tagged",
        conversation_id,
        message_id=state.message_id,
        seq=state.seq,
        tab=state.tab,
        tags=state.tags,
        tagged_at=iso(state.tagged_at),
        tagged_by=by,
    )


async def replay_tabs(
    db: Database, connection: Connection, conversation_id: str, after_seq: int
) -> None:
    """A client resuming after `after_seq` already holds those messages, but maybe not their
    current tabs: send the state of each that was ever tagged (`tagged_by` is null here)."""
    if after_seq <= 0:
        return
    for state in await MessageTabs(db).changed_up_to(conversation_id, after_seq):
        await connection.send_waiting(tagged_frame(conversation_id, state, None))
