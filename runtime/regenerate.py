"""Regenerate: another version of an agent's reply, kept beside the earlier ones.

The request is a stored `regenerate` message (store/regenerations.py) that triggers durably,
so the new version is owed like any answer. Its turn is run by the agent that wrote the reply,
with no routing and no hand-on by mention; the agent reads the conversation without the
versions it is replacing, plus a notice asking it to answer the same message again. Later
turns read only the newest version of each reply (`superseded`).
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

from runtime.quoting import quote
from runtime.roster import Candidate, Roster
from store.models import ConversationMessage
from store.regenerations import REGENERATE_TYPE, version_root

NOTICE_PREFIX = "[system notice] Another version of your reply is asked for"
_NOTICE = re.compile(
    r"^\[system notice\] Another version of your reply is asked for \(version (\d+)\)\. "
    r"Answer this message again, in other words:\n(.*)$",
    re.DOTALL,
)


def request_of(meta: dict[str, Any] | None, type_: str | None) -> dict[str, Any] | None:
    """The `regenerate` details of a stored regenerate message, None for any other one."""
    if type_ != REGENERATE_TYPE:
        return None
    found = (meta or {}).get("regenerate")
    return found if isinstance(found, dict) else None


def speakers(roster: Roster, request: dict[str, Any]) -> list[Candidate]:
    """The agent that wrote the reply, if it is still in the conversation."""
    agent = roster.by_agent_id(str(request.get("agent_id")))
    return [agent] if agent is not None else []


def gone_note(request: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return (
        f"Message #{request.get('seq')} cannot be regenerated: its agent is no longer in "
        "this conversation.",
        {"unrouted": {"reason": "agent_gone", "regenerate": request}},
    )


def reply_meta(request: dict[str, Any]) -> dict[str, Any]:
    """What the new version stores: the reply it replaces and the first of the versions."""
    keys = ("message_id", "seq", "version_of", "version")
    return {"regenerates": {key: request.get(key) for key in keys}}


def notice(request: dict[str, Any], original: str | None) -> str:
    """The line the agent reads last: answer that message again (quoted: it is data)."""
    text = quote(original) if original else "(the message is no longer available)"
    return (
        f"{NOTICE_PREFIX} (version {int(request.get('version') or 2)}). "
        f"Answer this message again, in other words:\n{text}"
    )


def parse_notice(text: str) -> tuple[str, int] | None:
    """(the message to answer again, the version asked for) from a `notice`, else None."""
    found = _NOTICE.match(text.strip())
    if found is None:
        return None
    original = found.group(2).strip()
    if original.startswith('"'):
        with contextlib.suppress(ValueError):
            original = str(json.loads(original))
    return original, int(found.group(1))


def superseded(messages: list[ConversationMessage]) -> set[str]:
    """Ids of the replies an agent no longer reads: every version of a reply but the newest,
    and all of them while a regenerate of it waits for its answer."""
    versions: dict[str, list[str]] = {}
    hidden: set[str] = set()
    for message in messages:
        request = request_of(message.meta, message.type)
        if request is not None:
            hidden.update(versions.get(str(request.get("version_of")), []))
            continue
        if not message.turn_id:
            continue
        root = version_root(message.meta, message.id)
        group = versions.setdefault(root, [])
        if root != message.id:
            hidden.update(group)
        group.append(message.id)
    return hidden
