"""Granted tools as langchain-core tools, for graphs that use `ToolNode` or `bind_tools`.

Each one runs through its `ToolExecutor`, so grants, limits, approval and recording apply; a
failure comes back as an error `ToolMessage`, never as an exception.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from pydantic import Field


class ExecutorTool(BaseTool):
    """A langchain tool whose schema is the agent's view and whose body is `executor.call`."""

    executor: Any = Field(exclude=True)

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """A model's tool call gives a `ToolMessage`; plain arguments give the result text."""
        if isinstance(input, dict) and input.get("type") == "tool_call":
            outcome = await self.executor.call(self.name, input.get("args", {}), input.get("id"))
            return ToolMessage(
                content=outcome.content(),
                tool_call_id=input.get("id") or "",
                name=self.name,
                status="success" if outcome.ok else "error",
                artifact=outcome,
            )
        outcome = await self.executor.call(self.name, input)
        return outcome.content()

    def _run(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"tool {self.name!r} runs only asynchronously (use ainvoke)")
