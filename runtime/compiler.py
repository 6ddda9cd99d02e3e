"""Compiling a stored agent into a LangGraph graph: a model node and a tools node in a loop.

`AgentCompiler.compile(agent_id)` reads the agent row, its tool grants and its delegates,
validates them (errors name the agent and the item at fault), and builds a `StateGraph`:
`model -> tools -> model ...` until the model stops calling tools or `max_steps` model calls
have been made. Results are cached by the agent's `version` (and its delegates' versions), so
an edit applies on the next turn without a restart.

Delegation cycles (A may delegate to B, B to A) are reported as warnings, not errors: every
hand-off is bounded by `settings.max_delegation_depth`, and runtime B refuses a hand-off to an
agent already in the delegation chain. Self-delegation is an error (it can never help).

The graph is run with a `TurnContext` (LangGraph's run context): per-turn things that must
not be checkpointed, such as the `emit` callback, the tool executor and the text streamed so far.
"""

from __future__ import annotations

import operator
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    AnyMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.utils import message_chunk_to_message
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.runtime import Runtime

from runtime import tracing, turn_observer
from runtime.errors import AgentDefinitionError, ModelError
from runtime.events import event
from runtime.models import check_model_name, resolve_model
from runtime.settings import Settings
from store.agents import Agents
from store.db import Database
from store.errors import NotFound
from store.models import Agent
from store.tools import Tools
from tools.errors import InvalidGrant
from tools.grants import GrantConfig, validate_grant
from tools.outcome import ToolOutcome
from tools.registry import ToolRegistry
from tools.schema import without

DELEGATE = "delegate"
DEFAULT_MAX_STEPS = 8
SEGMENT_SEPARATOR = "\n\n"
Emit = Callable[[dict[str, Any]], Awaitable[None]]
Delegate = Callable[[str, str], Awaitable[str]]


class TurnState(TypedDict):
    """The checkpointed state of one agent turn."""

    messages: Annotated[list[AnyMessage], add_messages]
    steps: int
    input_tokens: Annotated[int, operator.add]
    output_tokens: Annotated[int, operator.add]


class TextStream:
    """The turn's visible text: every piece is emitted as a `delta` and kept, so the content
    returned at the end is exactly the deltas joined. Text of a later model call (after tool
    results) is separated from earlier text by a blank line, emitted as part of its delta."""

    def __init__(self, emit: Emit, conversation_id: str, turn_id: str) -> None:
        self.emit, self.conversation_id, self.turn_id = emit, conversation_id, turn_id
        self.parts: list[str] = []
        self._fresh = False

    @property
    def content(self) -> str:
        return "".join(self.parts)

    def new_segment(self) -> None:
        self._fresh = bool(self.parts)

    async def add(self, text: str) -> None:
        if self._fresh:
            text, self._fresh = SEGMENT_SEPARATOR + text.lstrip(), False
        self.parts.append(text)
        await self.emit(event("delta", self.conversation_id, turn_id=self.turn_id, text=text))


@dataclass
class TurnContext:
    """Per-turn run context of the graph (never checkpointed)."""

    conversation_id: str
    turn_id: str
    agent_id: str
    emit: Emit
    instructions: str
    executor: Any
    text: TextStream
    delegate: Delegate | None = None
    record_call: Callable[..., Awaitable[Any]] | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    # Input tokens the provider served from its prompt cache (part of `input_tokens`).
    cached_tokens: int = 0
    # `provider:model` as the agent row resolved, for the model call's span.
    model_name: str | None = None


@dataclass(frozen=True)
class DelegateInfo:
    id: str
    handle: str
    name: str
    description: str


@dataclass
class CompiledAgent:
    """An agent ready to run: its graph (without checkpointer), model and tools."""

    agent_id: str
    version: int
    name: str
    handle: str
    model_name: str
    graph_builder: StateGraph
    grants: dict[str, GrantConfig]
    tool_names: list[str]
    delegates: list[DelegateInfo]
    warnings: list[str] = field(default_factory=list)
    max_steps: int = DEFAULT_MAX_STEPS
    key: tuple[Any, ...] = ()
    _graphs: dict[int, Any] = field(default_factory=dict)

    def graph(self, checkpointer: Any = None) -> Any:
        """The compiled graph for a checkpointer (compiled once per checkpointer)."""
        key = id(checkpointer)
        if key not in self._graphs:
            self._graphs[key] = self.graph_builder.compile(
                checkpointer=checkpointer, name=f"agent:{self.handle}"
            )
        return self._graphs[key]


class AgentCompiler:
    """Builds and caches `CompiledAgent`s by (agent id, version, delegates' versions)."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        registry: ToolRegistry,
        *,
        max_steps: int = DEFAULT_MAX_STEPS,
        cache_size: int = 256,
    ) -> None:
        self.db, self.settings, self.registry = db, settings, registry
        self.agents = Agents(db)
        self.max_steps = max_steps
        self.cache_size = cache_size
        self._cache: OrderedDict[str, CompiledAgent] = OrderedDict()
        self.builds = 0

    async def compile(
        self,
        agent_id: str,
        *,
        agent: Agent | None = None,
        known: Mapping[str, Agent] | None = None,
    ) -> CompiledAgent:
        """The agent's compiled graph, rebuilt only when the agent or a delegate changed.

        The runtime passes the agent row it read with the roster this trigger (and the rows of
        the agents it may delegate to, in `known`): their `version`s are then the cache check,
        without reading them again.
        """
        if agent is None or agent.id != agent_id:
            try:
                agent = await self.agents.get(agent_id)
            except NotFound:
                raise AgentDefinitionError(agent_id, "id", "no such agent") from None
        delegates = await self._delegates(agent, known or {})
        key = (agent.id, agent.version, tuple((d.id, d.version) for d in delegates))
        cached = self._cache.get(agent.id)
        if cached is not None and cached.key == key:
            self._cache.move_to_end(agent.id)
            return cached
        compiled = await self._build(agent, delegates)
        compiled.key = key
        self._cache[agent.id] = compiled
        self._cache.move_to_end(agent.id)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return compiled

    def forget(self, agent_id: str) -> None:
        self._cache.pop(agent_id, None)

    async def _delegates(self, agent: Agent, known: Mapping[str, Agent]) -> list[Agent]:
        wanted = [d for d in agent.delegates_to or [] if isinstance(d, str)]
        if agent.id in wanted:
            raise AgentDefinitionError(
                agent.name, "delegates_to", "an agent cannot delegate to itself"
            )
        if all(d in known for d in wanted):
            found = {d: known[d] for d in wanted}
        else:
            found = await self.agents.get_many(wanted)
        for delegate_id in wanted:
            if delegate_id not in found:
                raise AgentDefinitionError(
                    agent.name, "delegates_to", f"delegate {delegate_id!r} does not exist"
                )
        return [found[d] for d in dict.fromkeys(wanted)]

    async def _build(self, agent: Agent, delegates: list[Agent]) -> CompiledAgent:
        full_name = check_model_name(agent.model, self.settings, agent=agent.name)
        grants = await self._grants(agent)
        warnings = await self._listed_tools(agent, grants)
        warnings += await self._cycles(agent)
        infos = [DelegateInfo(d.id, d.handle, d.name, d.description or "") for d in delegates]
        schemas = [
            {
                "type": "function",
                "function": {
                    "name": name,
                    "description": self.registry.get(name).description,
                    "parameters": without(self.registry.get(name).parameters, grant.fixed_args),
                },
            }
            for name, grant in sorted(grants.items())
        ]
        if infos:
            if DELEGATE in grants:
                raise AgentDefinitionError(
                    agent.name,
                    "tools",
                    f"a granted tool is named {DELEGATE!r}, which is reserved for delegation",
                )
            schemas.append(delegate_schema(infos))
        try:
            model = resolve_model(full_name, self.settings, agent=agent.name)
        except (AgentDefinitionError, ImportError):
            raise
        except Exception as exc:
            raise AgentDefinitionError(agent.name, "model", f"{full_name!r}: {exc}") from exc
        self.builds += 1
        builder = build_graph(model, schemas, self.max_steps, has_delegates=bool(infos))
        return CompiledAgent(
            agent_id=agent.id,
            version=agent.version,
            name=agent.name,
            handle=agent.handle,
            model_name=full_name,
            graph_builder=builder,
            grants=grants,
            tool_names=[s["function"]["name"] for s in schemas],
            delegates=infos,
            warnings=warnings,
            max_steps=self.max_steps,
        )

    async def _grants(self, agent: Agent) -> dict[str, GrantConfig]:
        grants = {}
        for tool_row, grant_row in await Tools(self.db).grants_for_agent(agent.id):
            if tool_row.name not in self.registry and _from_mcp(tool_row):
                continue  # its server no longer offers it: unseen, and refused if called
            if tool_row.name not in self.registry:
                raise AgentDefinitionError(
                    agent.name,
                    "agent_tools",
                    f"granted tool {tool_row.name!r} is not registered in this process "
                    f"(registered: {', '.join(self.registry.names()) or 'none'})",
                )
            try:
                grants[tool_row.name] = validate_grant(
                    grant_row.config, self.registry.get(tool_row.name), agent=agent.name
                )
            except InvalidGrant as exc:
                raise AgentDefinitionError(agent.name, "agent_tools", str(exc)) from exc
        return grants

    async def _listed_tools(self, agent: Agent, grants: dict[str, GrantConfig]) -> list[str]:
        """`agents.tools` lists tool ids; each must be a registered tool. Listing alone does not
        let the agent call a tool (a grant does), which is worth a warning."""
        listed = [t for t in agent.tools or [] if isinstance(t, str)]
        if not listed:
            return []
        rows = {t.id: t for t in await Tools(self.db).list()}
        warnings = []
        for tool_id in listed:
            row = rows.get(tool_id)
            if row is None:
                raise AgentDefinitionError(agent.name, "tools", f"tool {tool_id!r} does not exist")
            if row.name not in self.registry:
                raise AgentDefinitionError(
                    agent.name, "tools", f"tool {row.name!r} is not registered in this process"
                )
            if row.name not in grants:
                warnings.append(f"tool {row.name!r} is listed on the agent but not granted")
        return warnings

    async def _cycles(self, agent: Agent) -> list[str]:
        """Delegation paths that lead back to this agent, as warnings."""
        known: dict[str, Agent] = {agent.id: agent}
        visited: set[str] = set()
        warnings: list[str] = []
        stack = [(agent.id, (agent.handle,))]
        while stack:
            node_id, path = stack.pop()
            if node_id in visited:
                continue
            visited.add(node_id)
            targets = [d for d in known[node_id].delegates_to or [] if isinstance(d, str)]
            known.update(await self.agents.get_many([t for t in targets if t not in known]))
            for target in targets:
                if target == agent.id and node_id != agent.id:
                    cycle = " -> ".join(f"@{h}" for h in (*path, agent.handle))
                    warnings.append(
                        f"delegation cycle {cycle} (bounded by max_delegation_depth="
                        f"{self.settings.max_delegation_depth}; refused at run time)"
                    )
                elif target in known and target not in visited:
                    stack.append((target, (*path, known[target].handle)))
        return sorted(set(warnings))


def _from_mcp(tool_row: Any) -> bool:
    """A tool synced from an MCP server (its row's config says so, see `tools.mcp`)."""
    return isinstance(tool_row.config, dict) and tool_row.config.get("source") == "mcp"


def delegate_schema(delegates: list[DelegateInfo]) -> dict[str, Any]:
    """The `delegate(agent, task)` tool; `agent` enumerates the allowed handles."""
    described = "; ".join(
        f"@{d.handle} ({d.name}{': ' + d.description if d.description else ''})" for d in delegates
    )
    return {
        "type": "function",
        "function": {
            "name": DELEGATE,
            "description": "Hand a task to another agent and get its answer back. "
            f"You may delegate to: {described}.",
            "parameters": {
                "type": "object",
                "properties": {
                    "agent": {
                        "type": "string",
                        "enum": [d.handle for d in delegates],
                        "description": "The handle of the agent to delegate to (without @).",
                    },
                    "task": {
                        "type": "string",
                        "description": "What the agent should do, self-contained.",
                    },
                },
                "required": ["agent", "task"],
            },
        },
    }


def build_graph(
    model: BaseChatModel, schemas: list[dict[str, Any]], max_steps: int, *, has_delegates: bool
) -> StateGraph:
    """The agent loop: `model` (streaming its text) -> `tools` -> `model` ... bounded."""
    bound = model.bind_tools(schemas) if schemas else model
    handles = {
        h
        for s in schemas
        if s["function"]["name"] == DELEGATE
        for h in s["function"]["parameters"]["properties"]["agent"]["enum"]
    }

    async def call_model(state: TurnState, runtime: Runtime[TurnContext]) -> dict[str, Any]:
        ctx = runtime.context
        last_step = state["steps"] + 1 >= max_steps
        chosen = model if last_step else bound
        prompt = [SystemMessage(ctx.instructions), *state["messages"]]
        ctx.text.new_segment()
        with tracing.chat(ctx.model_name, ctx.conversation_id, prompt) as traced:
            message = await _stream_reply(chosen, prompt, ctx)
            if traced is not None:
                traced.record(message)
        usage = message.usage_metadata or {}
        input_tokens, output_tokens = usage.get("input_tokens", 0), usage.get("output_tokens", 0)
        ctx.input_tokens += input_tokens
        ctx.output_tokens += output_tokens
        ctx.cached_tokens += int((usage.get("input_token_details") or {}).get("cache_read") or 0)
        return {
            "messages": [message],
            "steps": state["steps"] + 1,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
        }

    async def call_tools(state: TurnState, runtime: Runtime[TurnContext]) -> dict[str, Any]:
        ctx = runtime.context
        last = state["messages"][-1]
        assert isinstance(last, AIMessage)
        results = []
        for call in last.tool_calls:
            results.append(await _run_tool(ctx, call["name"], call["args"], call["id"], handles))
        for bad in last.invalid_tool_calls:
            results.append(await _invalid_call(ctx, bad))
        return {"messages": results}

    def route(state: TurnState) -> str:
        last = state["messages"][-1]
        wants_tools = isinstance(last, AIMessage) and (last.tool_calls or last.invalid_tool_calls)
        return "tools" if wants_tools and state["steps"] < max_steps else END

    builder = StateGraph(TurnState, context_schema=TurnContext)
    builder.add_node("model", call_model)
    builder.add_node("tools", call_tools)
    builder.add_edge(START, "model")
    builder.add_conditional_edges("model", route, ["tools", END])
    builder.add_edge("tools", "model")
    return builder


async def _stream_reply(model: Any, prompt: list[AnyMessage], ctx: TurnContext) -> AIMessage:
    full: AIMessageChunk | None = None
    try:
        async for chunk in model.astream(prompt):
            text = str(chunk.text)
            if text:
                await ctx.text.add(text)
            full = chunk if full is None else full + chunk
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(
            f"model call failed: {type(exc).__name__}: {exc}",
            conversation_id=ctx.conversation_id,
            turn_id=ctx.turn_id,
            agent_id=ctx.agent_id,
        ) from exc
    if full is None:
        return AIMessage(content="")
    message = message_chunk_to_message(full)
    assert isinstance(message, AIMessage)
    return message


async def _run_tool(
    ctx: TurnContext, name: str, args: dict[str, Any], call_id: str | None, handles: set[str]
) -> ToolMessage:
    await ctx.emit(
        event(
            "tool.call",
            ctx.conversation_id,
            turn_id=ctx.turn_id,
            call_id=call_id,
            tool=name,
            arguments=args,
        )
    )
    with tracing.tool(name, call_id, ctx.conversation_id, args) as span:
        if name == DELEGATE and handles:
            outcome = await _delegate(ctx, args, call_id, handles)
        else:
            outcome = await ctx.executor.call(name, args, call_id)
        turn_observer.tool_called(name, outcome, span)
    await ctx.emit(
        event("tool.result", ctx.conversation_id, turn_id=ctx.turn_id, **outcome.event_fields())
    )
    return ToolMessage(
        content=outcome.content(),
        tool_call_id=call_id or "",
        name=name,
        status="success" if outcome.ok else "error",
    )


async def _delegate(
    ctx: TurnContext, args: dict[str, Any], call_id: str | None, handles: set[str]
) -> ToolOutcome:
    """Run the hand-off callback; a refusal or failure is a tool error, never a crash."""
    started = time.perf_counter()
    handle = str(args.get("agent", "")).strip().lstrip("@").lower()
    task = str(args.get("task", "")).strip()
    status, result, error, code = "ok", None, None, None
    if handle not in handles:
        status, code = "refused", "delegation_refused"
        allowed = ", ".join(f"@{h}" for h in sorted(handles))
        error = f"@{handle} is not one of your delegates ({allowed})"
    elif not task:
        status, code, error = "error", "invalid_arguments", "field 'task': a task is required"
    elif ctx.delegate is None:
        status, code, error = "refused", "delegation_refused", "delegation is not available here"
    else:
        try:
            result = await ctx.delegate(handle, task)
        except Exception as exc:
            status, code = "refused", getattr(exc, "code", "delegation_failed")
            error = str(exc)
    duration = round((time.perf_counter() - started) * 1000, 3)
    row_id = None
    if ctx.record_call is not None:
        row = await ctx.record_call(
            DELEGATE,
            status=status,
            arguments={"agent": handle, "task": task},
            call_id=call_id,
            turn_id=ctx.turn_id,
            conversation_id=ctx.conversation_id,
            agent_id=ctx.agent_id,
            result=result,
            error=f"{code}: {error}" if error else None,
            duration_ms=duration,
        )
        row_id = row.id
    return ToolOutcome(DELEGATE, call_id, status, result, error, code, duration, row_id)


async def _invalid_call(ctx: TurnContext, bad: dict[str, Any]) -> ToolMessage:
    name = bad.get("name") or "unknown"
    outcome = ToolOutcome(
        name,
        bad.get("id"),
        "error",
        error=f"the arguments are not valid JSON: {bad.get('error') or bad.get('args')}",
        code="invalid_arguments",
    )
    await ctx.emit(
        event(
            "tool.call",
            ctx.conversation_id,
            turn_id=ctx.turn_id,
            call_id=bad.get("id"),
            tool=name,
            arguments={"_raw": bad.get("args")},
        )
    )
    await ctx.emit(
        event("tool.result", ctx.conversation_id, turn_id=ctx.turn_id, **outcome.event_fields())
    )
    return ToolMessage(
        content=outcome.content(), tool_call_id=bad.get("id") or "", name=name, status="error"
    )
