"""A tiny MCP server built with the SDK's FastMCP (named `MCPServer` since mcp 2).

Run it over stdio (Elevate starts it, see `mcp.yaml`), or over streamable HTTP:

    python -m examples.mcp_server.notes http 8765     # http://127.0.0.1:8765/mcp
"""

from __future__ import annotations

import os
import sys

from mcp.server.mcpserver import MCPServer

server = MCPServer("notes")
NOTES: dict[str, str] = {}


@server.tool()
def save_note(title: str, text: str) -> str:
    """Save a short note under a title (replacing one with the same title)."""
    NOTES[title] = text
    return f"saved {title!r}"


@server.tool()
def find_notes(words: str) -> list[str]:
    """Titles of the notes that contain every one of the words."""
    wanted = words.lower().split()
    return sorted(t for t, body in NOTES.items() if all(w in body.lower() for w in wanted))


@server.tool()
def team_name() -> str:
    """The team this server works for (from its environment)."""
    return os.environ.get("NOTES_TEAM", "unknown")


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "http":
        server.run(transport="streamable-http", port=int(sys.argv[2]))
    else:
        server.run()


if __name__ == "__main__":
    main()
