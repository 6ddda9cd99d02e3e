"""The frames one agent turn sends to every subscriber, for the broadcast baseline to replay.

When our server has run in the same scenario, the baseline replays exactly the frames one of our
sockets received; otherwise it sends these, shaped like protocol v1's frames for one message
and one agent turn of the bench reply.
"""

from __future__ import annotations

import re
from typing import Any

from bench.baselines import REPLY
from store.ids import new_id

PROMPT = "@bench please give me one idea for the hook."


def _message(conversation_id: str, seq: int, content: str, kind: str) -> dict[str, Any]:
    return {
        "type": "message",
        "conversation_id": conversation_id,
        "seq": seq,
        "message": {
            "id": new_id(),
            "conversation_id": conversation_id,
            "seq": seq,
            "author_participant_id": new_id(),
            "author": {"participant_id": new_id(), "kind": kind, "name": "Bench " + kind},
            "kind": "participant",
            "type": "chat",
            "status": "complete",
            "tags": [],
            "content": content,
            "attachments": [],
            "meta": {},
            "client_msg_id": None,
            "turn_id": None,
            "created_at": "2026-01-01T00:00:00+00:00",
        },
    }


def turn_frames(conversation_id: str | None = None, seq: int = 1) -> list[dict[str, Any]]:
    """A human message, then one agent turn: start, a delta per word, the reply, the end."""
    conversation_id = conversation_id or new_id()
    turn_id = new_id()
    agent = {"id": new_id(), "name": "Bench agent", "handle": "bench"}
    frames = [_message(conversation_id, seq, PROMPT, "user")]
    frames.append(
        {
            "type": "turn.start",
            "conversation_id": conversation_id,
            "turn_id": turn_id,
            "agent": agent,
            "parent_turn_id": None,
        }
    )
    for word in re.findall(r"\S+\s*", REPLY):
        frames.append(
            {"type": "delta", "conversation_id": conversation_id, "turn_id": turn_id, "text": word}
        )
    frames.append(_message(conversation_id, seq + 1, REPLY, "agent"))
    frames.append(
        {
            "type": "turn.end",
            "conversation_id": conversation_id,
            "turn_id": turn_id,
            "status": "completed",
            "message_seq": seq + 1,
            "usage": {"input_tokens": 20, "output_tokens": 12},
        }
    )
    return frames
