"""One agent turn: compile (cached), read the conversation, stream the graph, report usage.

This is the interface the conversation runtime calls. It stores nothing in the transcript
itself (the caller stores the final message and the turn row); it emits frames through the
request's `emit`: `delta` for every text chunk, `tool.call` / `tool.result` around every tool
call, and `tool.approval` (through the tool executor) when a call waits for a person.

The returned `content` is exactly the emitted deltas joined, in order. A model error ends the
turn as `failed` with what had streamed; cancellation propagates as `CancelledError`.

Given the rows the runtime read for the trigger (`request.inputs`: the agent row, the roster,
the summary watermark), a turn reads the rest (window, attached prompts, whether the agent has
memories) in one transaction; without them it reads everything itself.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage

from runtime.attachments import with_attachments
from runtime.compiler import AgentCompiler, CompiledAgent, TextStream, TurnContext
from runtime.errors import AgentDefinitionError, ModelError
from runtime.history import (
    History,
    Summarizer,
    build_history,
    extractive_summary,
    read_mark,
    read_window,
)
from runtime.prompting import compose, has_memories, members_from_roster, recall
from runtime.roster import load_roster
from runtime.settings import Settings
from runtime.turn_clock import TurnClock
from runtime.turn_state import TurnInputs
from store.agents import Agents, attached_prompts_in
from store.db import Database
from store.models import Agent
from store.tools import Tools
from tools.approvals import ApprovalGate
from tools.context import ToolContext
from tools.executor import ToolExecutor
from tools.registry import ToolRegistry

log = logging.getLogger(__name__)


@dataclass
class AgentTurnRequest:
    """What the conversation runtime asks for: one agent's turn in one conversation."""

    conversation_id: str
    turn_id: str
    agent_id: str
    user_id: str | None
    group_id: str | None
    emit: Callable[[dict[str, Any]], Awaitable[None]]
    task: str | None = None
    delegation_depth: int = 0
    delegation_chain: tuple[str, ...] = ()
    delegate: Callable[[str, str], Awaitable[str]] | None = None
    inputs: TurnInputs | None = None
    # A last line for the agent to read (a regenerate's request, runtime/regenerate.py).
    notice: str | None = None
    # Stops while a tool call waits for a person; the caller enforces the turn timeout on it.
    clock: TurnClock = field(default_factory=TurnClock.nested)


@dataclass
class AgentTurnResult:
    """How the turn ended; `content` equals the turn's deltas joined."""

    content: str
    status: str
    model: str
    input_tokens: int
    output_tokens: int
    error: str | None = None
    cached_tokens: int = 0


@dataclass
class PreparedTurn:
    """Everything a turn's graph run needs, loaded before it starts."""

    history: History
    messages: list[BaseMessage]
    context: TurnContext


class AgentRunner:
    """Runs agent turns. One per process: it holds the compile cache and the approval gate."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        registry: ToolRegistry,
        compiler: AgentCompiler | None = None,
        checkpointer: Any = None,
        *,
        approvals: ApprovalGate | None = None,
        summarizer: Summarizer = extractive_summary,
    ) -> None:
        self.db, self.settings, self.registry = db, settings, registry
        self.compiler = compiler or AgentCompiler(db, settings, registry)
        self.checkpointer = checkpointer
        self.approvals = approvals or ApprovalGate(db, timeout=settings.approval_timeout_seconds)
        self.summarizer = summarizer

    async def run(self, request: AgentTurnRequest) -> AgentTurnResult:
        """Run the turn to its end (see the module docstring for the contract)."""
        # Turns this one delegates to start from here: their clocks nest in this turn's.
        with request.clock.active():
            return await self._drive(request, resume=False)

    async def resume(self, request: AgentTurnRequest) -> AgentTurnResult:
        """Continue an interrupted turn from its last checkpoint (same `turn_id`).

        The text streamed before the interruption is not replayed: the result's content is
        the text streamed by this call.
        """
        if self.checkpointer is None:
            raise RuntimeError("resuming a turn needs a checkpointer")
        with request.clock.active():
            return await self._drive(request, resume=True)

    async def _drive(self, request: AgentTurnRequest, *, resume: bool) -> AgentTurnResult:
        inputs = request.inputs
        try:
            if inputs is None:
                compiled = await self.compiler.compile(request.agent_id)
            else:
                compiled = await self.compiler.compile(
                    request.agent_id, agent=inputs.agent, known=inputs.roster.known
                )
        except AgentDefinitionError as exc:
            return AgentTurnResult("", "failed", "", 0, 0, error=str(exc))
        context: TurnContext | None = None
        try:
            prepared = await self.prepare(request, compiled)
            context = prepared.context
            start = None if resume else {"messages": prepared.messages, "steps": 0}
            graph = compiled.graph(self.checkpointer)
            config = self._config(request, compiled)
            async for _ in graph.astream(start, config, context=context, stream_mode="updates"):
                pass
        except ModelError as exc:
            return self._result(compiled, context, "failed", str(exc))
        except Exception as exc:
            log.exception("agent turn %s failed", request.turn_id)
            return self._result(compiled, context, "failed", f"{type(exc).__name__}: {exc}")
        return self._result(compiled, context, "completed")

    async def prepare(self, request: AgentTurnRequest, compiled: CompiledAgent) -> PreparedTurn:
        """History, instructions, tool executor and run context for a turn."""
        inputs = request.inputs
        standalone = inputs is None or inputs.agent.id != request.agent_id
        if standalone:
            inputs = await self._standalone_inputs(request)
        history, instructions = await self._assemble(request, inputs, compiled)
        if standalone and inputs.summary_update is not None:
            # Nobody stores this turn's reply with the summary: store it now.
            async with self.db.session() as session:
                await inputs.summary_update.apply(session, request.conversation_id)
        messages = list(history.messages)
        if request.task:
            messages.append(HumanMessage(await self._task_text(request)))
        if request.notice:
            messages.append(HumanMessage(request.notice))
        executor = ToolExecutor(
            self.registry,
            self.db,
            grants=compiled.grants,
            context=ToolContext(
                user_id=request.user_id,
                conversation_id=request.conversation_id,
                agent_id=request.agent_id,
                group_id=request.group_id,
                turn_id=request.turn_id,
                message_seq=history.last_seq or None,
            ),
            approvals=self.approvals,
            emit=request.emit,
            default_timeout=self.settings.tool_timeout_seconds,
            waiting=request.clock.paused,
        )
        context = TurnContext(
            conversation_id=request.conversation_id,
            turn_id=request.turn_id,
            agent_id=request.agent_id,
            emit=request.emit,
            instructions=instructions,
            executor=executor,
            text=TextStream(request.emit, request.conversation_id, request.turn_id),
            delegate=request.delegate,
            record_call=Tools(self.db).record_call,
            model_name=compiled.model_name,
        )
        return PreparedTurn(history, messages, context)

    async def _standalone_inputs(self, request: AgentTurnRequest) -> TurnInputs:
        """What the conversation runtime would have handed over, for a turn run on its own."""
        return TurnInputs(
            await Agents(self.db).get(request.agent_id),
            await load_roster(self.db, request.conversation_id),
            await read_mark(self.db, request.conversation_id),
        )

    async def _assemble(
        self, request: AgentTurnRequest, inputs: TurnInputs, compiled: CompiledAgent
    ) -> tuple[History, str]:
        """History and instructions: what `inputs` does not hold is read in one transaction;
        memories are recalled (their own transactions) only when the agent has any."""
        agent, limit = inputs.agent, self.settings.memory_recall_limit
        async with self.db.read() as session:
            rows = await read_window(session, request.conversation_id, self.settings.history_window)
            prompts = await attached_prompts_in(session, agent, request.group_id)
            remembers = limit > 0 and await has_memories(session, agent.id)
        history = await build_history(
            self.db,
            request.conversation_id,
            request.agent_id,
            self.settings.history_window,
            summarizer=self.summarizer,
            mark=inputs.summary,
            rows=rows,
        )
        inputs.summary_update = history.summary_update
        history = await with_attachments(
            self.db,
            self.settings,
            request.conversation_id,
            rows,
            history,
            request.agent_id,
            compiled.model_name,
        )
        memories = []
        if remembers:
            memories = await recall(
                self.db,
                agent.id,
                request.task or history.last_text,
                user_id=request.user_id,
                group_id=request.group_id,
                limit=limit,
            )
        instructions = compose(
            agent,
            prompts=prompts,
            members=members_from_roster(inputs.roster, agent.id),
            delegates=await self._delegate_rows(compiled, inputs.roster.known),
            summary=history.summary,
            memories=memories,
        )
        return history, instructions

    async def _delegate_rows(
        self, compiled: CompiledAgent, known: Mapping[str, Agent]
    ) -> list[Agent]:
        wanted = [d.id for d in compiled.delegates]
        missing = [d for d in wanted if d not in known]
        found = {**known, **(await Agents(self.db).get_many(missing) if missing else {})}
        return [found[d] for d in wanted if d in found]

    async def _task_text(self, request: AgentTurnRequest) -> str:
        caller = "another agent"
        if request.delegation_chain:
            caller_id = request.delegation_chain[-1]
            known = request.inputs.roster.known if request.inputs is not None else {}
            found = (
                {caller_id: known[caller_id]}
                if caller_id in known
                else await Agents(self.db).get_many([caller_id])
            )
            if found:
                caller = f"@{next(iter(found.values())).handle}"
        return (
            f"Task handed to you by {caller} (answer it; your reply goes back to them):\n"
            f"{request.task}"
        )

    def _config(self, request: AgentTurnRequest, compiled: CompiledAgent) -> dict[str, Any]:
        return {
            "configurable": {"thread_id": request.turn_id},
            "recursion_limit": 2 * compiled.max_steps + 4,
            "metadata": {
                "conversation_id": request.conversation_id,
                "agent_id": request.agent_id,
            },
        }

    @staticmethod
    def _result(
        compiled: CompiledAgent, context: TurnContext | None, status: str, error: str | None = None
    ) -> AgentTurnResult:
        if context is None:
            return AgentTurnResult("", status, compiled.model_name, 0, 0, error=error)
        return AgentTurnResult(
            content=context.text.content,
            status=status,
            model=compiled.model_name,
            input_tokens=context.input_tokens,
            output_tokens=context.output_tokens,
            error=error,
            cached_tokens=context.cached_tokens,
        )
