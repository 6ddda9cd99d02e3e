"""The result of one tool call as the runtime and the model see it: never an exception."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from store.enums import ToolCallStatus
from tools.results import as_text


@dataclass(frozen=True)
class ToolOutcome:
    """How a call ended. `status` is a `tool_calls` status (ok, error, timeout, refused,
    denied); `code` a stable error code from `tools.errors` when it did not succeed."""

    tool: str
    call_id: str | None
    status: str
    result: Any = None
    error: str | None = None
    code: str | None = None
    duration_ms: float = 0.0
    tool_call_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == ToolCallStatus.OK

    def content(self) -> str:
        """What the model reads back: the result, or `{"error": {"code", "message"}}`."""
        if self.ok:
            return as_text(self.result)
        return as_text({"error": {"code": self.code, "message": self.error}})

    def event_fields(self) -> dict[str, Any]:
        """The fields of a `tool.result` frame (without type, conversation and turn)."""
        fields: dict[str, Any] = {
            "call_id": self.call_id,
            "tool_call_id": self.tool_call_id,
            "tool": self.tool,
            "status": self.status,
            "duration_ms": self.duration_ms,
        }
        if self.ok:
            fields["result"] = self.result
        else:
            fields["error"] = self.error
            fields["code"] = self.code
        return fields
