"""Point Elevate at the notes server, sync its tools, grant two to an agent, and call them.

Run from the repository root (a throw-away SQLite database unless DATABASE_URL is set):

    NOTES_TEAM=blue python -m examples.mcp_server.try_notes
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from store.db import Database
from store.migrate import upgrade
from store.models import Agent
from store.tools import Tools
from tools import ToolContext, ToolExecutor, grants_from_rows
from tools.mcp import McpManager, load_servers_file
from tools.registry import ToolRegistry

CONFIG = Path(__file__).with_name("mcp.yaml")


async def main(database_url: str) -> dict[str, Any]:
    await upgrade(database_url)
    os.environ.setdefault("PWD", os.getcwd())
    db = Database(database_url)
    registry = ToolRegistry()
    manager = McpManager(db, registry, file_servers=load_servers_file(CONFIG), refresh_seconds=0)
    try:
        await manager.start()  # connects, lists the tools, syncs them into `tools`
        store = Tools(db)
        async with db.session() as session:
            agent = Agent(name="Note taker", handle=f"notes-{os.getpid()}")
            session.add(agent)
        for name in ("notes__save_note", "notes__find_notes"):
            await store.grant(agent.id, (await store.get_by_name(name)).id, {"timeout_seconds": 5})
        executor = ToolExecutor(
            registry,
            db,
            grants=grants_from_rows(
                await store.grants_for_agent(agent.id), agent=agent.handle, tools=registry
            ),
            context=ToolContext(agent_id=agent.id),
        )
        saved = await executor.call("notes__save_note", {"title": "plan", "text": "ship on Friday"})
        found = await executor.call("notes__find_notes", {"words": "friday"})
        refused = await executor.call("notes__team_name", {})  # not granted
        return {
            "tools": sorted(registry.names()),
            "saved": saved.result,
            "found": found.result,
            "refused": refused.code,
        }
    finally:
        await manager.close()
        await db.close()


if __name__ == "__main__":
    url = os.environ.get("DATABASE_URL")
    if url is None:
        url = f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp()) / 'example.sqlite'}"
    print(json.dumps(asyncio.run(main(url)), indent=2))
