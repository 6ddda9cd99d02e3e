"""What a tool may know about the call it serves, filled in by the runtime, unseen by the model.

A tool asks for it either as one parameter annotated `ToolContext`, or per value with
`Annotated[str, Injected("user_id")]`. Injected parameters never appear in the schema the
model sees, so a model cannot claim to be someone else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

INJECTABLE = (
    "user_id",
    "conversation_id",
    "agent_id",
    "group_id",
    "turn_id",
    "message_seq",
    "db",
    "call_id",
    "tool_call_id",
    "settings",
    "context",
)


@dataclass(frozen=True)
class ToolContext:
    """The caller of a tool call: who asked, where, in which turn.

    `settings` is the grant's free-form `settings` for this tool; `call_id` is the model's id of
    the call and `tool_call_id` the id of its `tool_calls` row. `db` is the store's `Database`.
    """

    user_id: str | None = None
    conversation_id: str | None = None
    agent_id: str | None = None
    group_id: str | None = None
    turn_id: str | None = None
    message_seq: int | None = None
    db: Any = None
    call_id: str | None = None
    tool_call_id: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    def value(self, key: str) -> Any:
        """The injectable value named `key` (`"context"` is the whole context)."""
        return self if key == "context" else getattr(self, key)


@dataclass(frozen=True)
class Injected:
    """Marks a parameter as filled by the runtime: `Annotated[str, Injected("user_id")]`."""

    key: str

    def __post_init__(self) -> None:
        if self.key not in INJECTABLE:
            raise ValueError(
                f"Injected({self.key!r}) is not injectable; expected one of "
                + ", ".join(INJECTABLE)
            )
