"""Resume, for edits and deletes: what changed in the messages a client already has.

An edit or a delete keeps its message's `seq`, so a replay by seq alone would never show it
to a client that had the message. Messages replayed after `after_seq` carry their current
content; for the ones up to `after_seq`, the changes made after the client's `after_edit_seq`
are sent as `message.updated` / `message.deleted` frames (each message once, in its current
state, in the order of its latest change). A client without `after_edit_seq` gets every change
of the messages it has. A change made while this runs also arrives live: frames carry
`edit_seq`, and a client keeps the one with the highest for a message.
"""

from __future__ import annotations

from runtime.events import event
from server.transcript import Transcript
from server.ws.connection import Connection
from store.db import Database
from store.message_edits import MAX_CHANGES, MessageEdits


async def replay_changes(
    db: Database,
    connection: Connection,
    conversation_id: str,
    *,
    upto_seq: int,
    after_edit_seq: int | None,
) -> int:
    """Send the changes the client has not seen; the conversation's last `edit_seq`."""
    edits = MessageEdits(db)
    last_edit_seq = await edits.last_edit_seq(conversation_id)
    after = after_edit_seq or 0
    if upto_seq <= 0 or after >= last_edit_seq:
        return last_edit_seq
    transcript = Transcript(db, conversation_id)
    while not connection.closing:
        rows = await edits.changed(conversation_id, upto_seq=upto_seq, after_edit_seq=after)
        for wire in await transcript.messages(rows):
            kind = "message.deleted" if wire["deleted"] else "message.updated"
            await connection.send_waiting(
                event(
                    kind,
                    conversation_id,
                    seq=wire["seq"],
                    edit_seq=wire["edit_seq"],
                    message=wire,
                    resumed=True,
                )
            )
            after = max(after, wire["edit_seq"])
        if len(rows) < MAX_CHANGES:
            break
    return last_edit_seq
