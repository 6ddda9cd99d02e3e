"""Errors of the tools package, in two families.

Developer mistakes (a tool that cannot be described, a grant that does not fit its tool) are
raised early and name the tool, parameter or agent at fault. Run failures of a call are never
raised to the turn: the executor turns them into a `ToolOutcome` with one of the stable codes
below, so a failing tool becomes a tool error in the transcript, not a crashed turn.
"""

from __future__ import annotations

UNKNOWN_TOOL = "unknown_tool"
TOOL_NOT_GRANTED = "tool_not_granted"
TOOL_CALL_LIMIT = "tool_call_limit"
INVALID_ARGUMENTS = "invalid_arguments"
TOOL_ERROR = "tool_error"
TIMEOUT = "timeout"
APPROVAL_DENIED = "approval_denied"
APPROVAL_TIMEOUT = "approval_timeout"
CANCELLED = "cancelled"


class ToolsError(Exception):
    """Base class of the tools package's own exceptions; `code` is stable for clients."""

    code = "tools_error"


class ToolDefinitionError(ToolsError):
    """A function cannot become a tool (missing hint, bad name, clashing registration)."""

    code = "invalid_tool_definition"


class UnknownTool(ToolsError, LookupError):
    """A tool name that nobody registered in this process."""

    code = UNKNOWN_TOOL

    def __init__(self, name: str, known: list[str] | None = None) -> None:
        self.name = name
        hint = f"; registered tools: {', '.join(sorted(known))}" if known else ""
        super().__init__(f"no tool named {name!r} is registered{hint}")


class InvalidGrant(ToolsError, ValueError):
    """A grant's configuration does not fit its tool; the message names agent and tool."""

    code = "invalid_grant"

    def __init__(self, agent: str, tool: str, detail: str) -> None:
        self.agent, self.tool = agent, tool
        super().__init__(f"grant of tool {tool!r} to agent {agent!r}: {detail}")


class ToolError(Exception):
    """Raise inside a tool to report a failure to the model with a clean message.

    Any other exception becomes a `tool_error` outcome too, as `ExceptionType: message`.
    """

    code = TOOL_ERROR

    def __init__(self, message: str, *, code: str | None = None) -> None:
        if code is not None:
            self.code = code
        super().__init__(message)
