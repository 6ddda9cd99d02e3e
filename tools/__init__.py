"""Python tools for agents: register typed functions, grant them per agent, run them safely.

`@tool` registers into the default registry (`tools.registry.registry`; not re-exported
here, where the name would hide the module); `ToolExecutor` runs one turn's granted tools.
"""

from tools.approvals import ApprovalGate
from tools.context import Injected, ToolContext
from tools.errors import InvalidGrant, ToolDefinitionError, ToolError, UnknownTool
from tools.executor import ToolExecutor
from tools.grants import GrantConfig, grants_from_rows, validate_grant
from tools.outcome import ToolOutcome
from tools.registry import (
    ToolRegistry,
    ToolSpec,
    load_all,
    load_entry_points,
    load_tool_modules,
    tool,
)

__all__ = [
    "ApprovalGate",
    "GrantConfig",
    "Injected",
    "InvalidGrant",
    "ToolContext",
    "ToolDefinitionError",
    "ToolError",
    "ToolExecutor",
    "ToolOutcome",
    "ToolRegistry",
    "ToolSpec",
    "UnknownTool",
    "grants_from_rows",
    "load_all",
    "load_entry_points",
    "load_tool_modules",
    "tool",
    "validate_grant",
]
