"""A small MCP server (the SDK's FastMCP, `MCPServer` in mcp 2) that the MCP tests start.

    python -m tests.tools.mcp.server_app http 8123   # streamable HTTP on 127.0.0.1:8123/mcp
    python -m tests.tools.mcp.server_app stdio       # over stdin/stdout

`drop` removes one of its tools at run time, so a test can see a tool vanish from a server.
"""

from __future__ import annotations

import asyncio
import os
import sys

from mcp.server.mcpserver import Context, MCPServer

server = MCPServer("elevate-test")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def echo(text: str, shout: bool = False) -> str:
    """Repeat the text, in capitals when asked to shout."""
    return text.upper() if shout else text


@server.tool()
async def slow(seconds: float) -> str:
    """Wait a number of seconds, then answer."""
    await asyncio.sleep(seconds)
    return f"waited {seconds:g} s"


@server.tool()
def whoami(ctx: Context) -> str:
    """The Authorization header this request carried (or the stdio server's TEST_TOKEN)."""
    headers = ctx.headers or {}
    return headers.get("authorization") or os.environ.get("TEST_TOKEN", "none")


@server.tool()
def fail(reason: str) -> str:
    """Always fails, with the given reason."""
    raise ValueError(reason)


@server.tool()
def pid() -> int:
    """This server's process id (a test kills it with it)."""
    return os.getpid()


@server.tool()
def drop(name: str) -> str:
    """Stop offering the tool called `name`."""
    server.remove_tool(name)
    return f"dropped {name}"


def main() -> None:
    if sys.argv[1] == "http":
        server.run(transport="streamable-http", port=int(sys.argv[2]))
    else:
        server.run()


if __name__ == "__main__":
    main()
