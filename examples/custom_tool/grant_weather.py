"""Load the custom weather tool, store it, grant it to an agent with a config, and call it.

Run from the repository root (it makes a throw-away SQLite database unless DATABASE_URL is set):

    ELEVATE_TOOL_MODULES=examples.custom_tool.weather python -m examples.custom_tool.grant_weather
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
from tools import GrantConfig, ToolContext, ToolExecutor, grants_from_rows, load_all
from tools.registry import registry


async def main(database_url: str) -> dict[str, Any]:
    await upgrade(database_url)
    # Entry points (the built-ins) and ELEVATE_TOOL_MODULES; the server does the same at start.
    load_all(os.environ.get("ELEVATE_TOOL_MODULES") or "examples.custom_tool.weather")
    db = Database(database_url)
    try:
        store = Tools(db)
        await store.sync(registry)
        async with db.session() as session:
            agent = Agent(name="Trip planner", handle=f"planner-{os.getpid()}")
            session.add(agent)
        weather = await store.get_by_name("weather_forecast")
        config = GrantConfig(
            timeout_seconds=5,
            max_calls_per_turn=3,
            fixed_args={"units": "metric"},
            settings={"source": "example-station"},
        )
        await store.grant(agent.id, weather.id, config.to_config())

        # What the runtime does at the start of each turn of this agent:
        grants = grants_from_rows(await store.grants_for_agent(agent.id), agent=agent.name)
        executor = ToolExecutor(registry, db, grants=grants, context=ToolContext(agent_id=agent.id))
        outcome = await executor.call(
            "weather_forecast", {"city": "Lyon", "days": 2, "units": "imperial"}, "call-1"
        )
        return {"schemas": executor.tool_schemas(), "outcome": outcome.event_fields()}
    finally:
        await db.close()


if __name__ == "__main__":
    url = os.environ.get("DATABASE_URL") or (
        f"sqlite+aiosqlite:///{Path(tempfile.mkdtemp()) / 'example.sqlite'}"
    )
    print(json.dumps(asyncio.run(main(url)), indent=2, default=str))
