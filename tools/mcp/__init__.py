"""MCP servers as tool sources: declared servers' tools, granted and run like Python tools.

`McpManager` (see `manager.py`) connects to the servers in `ELEVATE_MCP_SERVERS_FILE` and the
staff-declared `mcp_servers` rows, registers their tools in the tool registry and syncs them
into the `tools` table; the executor then runs them exactly as it runs Python tools.
"""

from tools.mcp.config import McpConfigError, McpServerConfig, load_servers_file, parse_servers
from tools.mcp.connection import ServerConnection, ServerUnavailable
from tools.mcp.manager import TOOL_REMOVED, McpManager

__all__ = [
    "TOOL_REMOVED",
    "McpConfigError",
    "McpManager",
    "McpServerConfig",
    "ServerConnection",
    "ServerUnavailable",
    "load_servers_file",
    "parse_servers",
]
