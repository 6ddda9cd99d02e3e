"""A conversation's policy: who speaks next, what a message does mid-turn, the loop guard.

Stored as JSON on `conversations.policy`; read with `ConversationPolicy.from_config`, which
turns any bad shape into `InvalidPolicy` (stable code `invalid_policy`) naming the field.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from runtime.settings import Settings
from store.errors import InvalidValue

MAX_AGENT_TURNS_CEILING = 100


class Speaker(StrEnum):
    """How the next agent is chosen when nobody is @mentioned."""

    AUTO = "auto"
    MENTIONS = "mentions"
    ROUND_ROBIN = "round_robin"
    SELECTOR = "selector"


class MidTurn(StrEnum):
    """What a human message does while agents are still replying."""

    QUEUE = "queue"
    INTERRUPT = "interrupt"
    REJECT = "reject"
    COALESCE = "coalesce"


class InvalidPolicy(InvalidValue):
    """A policy the runtime cannot follow; raised before anything is stored."""

    code = "invalid_policy"

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.table, self.field, self.value = "conversations", field, value
        Exception.__init__(self, f"invalid conversation policy: {field}={value!r}: {reason}")


class ConversationPolicy(BaseModel):
    """The rules of one conversation. Every field has a default, so `{}` is a valid policy."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, use_enum_values=True, validate_default=True
    )

    speaker: Speaker = Speaker.AUTO
    mid_turn: MidTurn = MidTurn.QUEUE
    max_agent_turns: int | None = Field(
        None,
        ge=1,
        le=MAX_AGENT_TURNS_CEILING,
        description="agent turns one trigger may cause; unset: the process setting",
    )
    selector_model: str | None = Field(
        None, description="provider:model that picks speakers; unset: the default model"
    )

    @classmethod
    def from_config(cls, data: dict[str, Any] | None) -> ConversationPolicy:
        """Validate stored or submitted JSON; `None` means all defaults."""
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise InvalidPolicy("policy", data, "expected a JSON object")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(part) for part in error["loc"]) or "policy"
            raise InvalidPolicy(f"policy.{field}", error.get("input"), error["msg"]) from None

    def to_config(self) -> dict[str, Any]:
        """The JSON to store: only the fields that differ from the defaults."""
        return self.model_dump(exclude_defaults=True)

    def agent_turn_limit(self, settings: Settings) -> int:
        """The loop guard: agent turns (delegated ones included) one human message may cause."""
        if self.max_agent_turns is not None:
            return self.max_agent_turns
        return settings.max_agent_turns_per_trigger

    def effective_speaker(self, humans: int, agents: int) -> Speaker:
        """Resolve `auto` from the room: one agent answers; several humans need mentions;
        one human with several agents gets a selector."""
        if self.speaker != Speaker.AUTO:
            return Speaker(self.speaker)
        if agents <= 1:
            return Speaker.ROUND_ROBIN
        if humans > 1:
            return Speaker.MENTIONS
        return Speaker.SELECTOR
