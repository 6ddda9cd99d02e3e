"""Running the tools of one agent turn: only granted ones, within their limits, all recorded.

Nothing a tool or a model does here raises into the turn: unknown or ungranted tools, bad
arguments, exceptions, time-outs, exhausted call budgets and denied approvals all come back as
a `ToolOutcome` with a stable code, and every call leaves a `tool_calls` row.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from pydantic import ValidationError

from store.db import Database
from store.enums import ToolCallStatus
from store.tools import Tools
from store.users import Users
from tools import errors
from tools.approvals import ApprovalGate, decision_fields
from tools.context import ToolContext
from tools.grants import DEFAULT_TIMEOUT_SECONDS, GrantConfig
from tools.outcome import ToolOutcome
from tools.registry import ToolRegistry, ToolSpec
from tools.results import DEFAULT_MAX_RESULT_CHARS, bounded, json_safe
from tools.schema import without

Emit = Callable[[dict[str, Any]], Awaitable[None] | None]
Waiting = Callable[[], AbstractContextManager[Any]]
MAX_REPORTED_ERRORS = 3


class ToolExecutor:
    """Calls tools for one agent turn.

    `grants` maps tool names to their `GrantConfig` (see `tools.grants.grants_from_rows`);
    `emit` receives frame-shaped events (`tool.approval`, `tool.decision`); `approvals` is the
    process's `ApprovalGate` (a private one is made if none is given); `waiting` gives the
    context a call waits for a person in (the runtime stops the turn's clock there).
    """

    def __init__(
        self,
        registry: ToolRegistry,
        db: Database,
        *,
        grants: Mapping[str, GrantConfig],
        context: ToolContext,
        approvals: ApprovalGate | None = None,
        emit: Emit | None = None,
        default_timeout: float = DEFAULT_TIMEOUT_SECONDS,
        approval_timeout: float | None = None,
        max_result_chars: int = DEFAULT_MAX_RESULT_CHARS,
        waiting: Waiting | None = None,
    ) -> None:
        self.registry = registry
        self.db = db
        self.store = Tools(db)
        self.grants = dict(grants)
        self.context = dataclasses.replace(context, db=db)
        self.approvals = approvals or ApprovalGate(db)
        self.emit = emit
        self.default_timeout = default_timeout
        self.approval_timeout = approval_timeout
        self.max_result_chars = max_result_chars
        self.waiting = waiting or contextlib.nullcontext
        self.calls: Counter[str] = Counter()

    # What the model may see --------------------------------------------------------------

    def granted(self) -> list[ToolSpec]:
        """The granted tools this process can run, by name."""
        return [self.registry.get(n) for n in sorted(self.grants) if n in self.registry]

    def parameters_for(self, spec: ToolSpec) -> dict[str, Any]:
        """The tool's schema as this agent's model sees it: without the fixed arguments."""
        return without(spec.parameters, self.grants[spec.name].fixed_args)

    def tool_schemas(self) -> list[dict[str, Any]]:
        """OpenAI-style function tools for `model.bind_tools(...)`, granted tools only."""
        return [
            {
                "type": "function",
                "function": {
                    "name": spec.name,
                    "description": spec.description,
                    "parameters": self.parameters_for(spec),
                },
            }
            for spec in self.granted()
        ]

    def langchain_tools(self) -> list[Any]:
        """The granted tools as langchain-core tools that run through this executor."""
        from tools.langchain import ExecutorTool

        return [
            ExecutorTool(
                name=spec.name,
                description=spec.description,
                args_schema=self.parameters_for(spec),
                executor=self,
            )
            for spec in self.granted()
        ]

    # Calling -----------------------------------------------------------------------------

    async def call(self, name: str, args: Any, call_id: str | None = None) -> ToolOutcome:
        """Run tool `name` with the model's `args`; always returns an outcome."""
        started = time.perf_counter()
        raw_args = args if isinstance(args, dict) else {"_raw": json_safe(args)}
        refusal = self._refusal(name)
        if refusal is not None:
            code, message = refusal
            return await self._record(
                name, call_id, raw_args, ToolCallStatus.REFUSED, code, message, started
            )
        spec, grant = self.registry.get(name), self.grants[name]
        self.calls[name] += 1
        if grant.max_calls_per_turn is not None and self.calls[name] > grant.max_calls_per_turn:
            message = (
                f"tool {name!r} may be called at most {grant.max_calls_per_turn} "
                "time(s) per turn; this turn's budget is used up"
            )
            return await self._record(
                name,
                call_id,
                raw_args,
                ToolCallStatus.REFUSED,
                errors.TOOL_CALL_LIMIT,
                message,
                started,
            )
        try:
            arguments, model_args = self._validate(spec, grant, args)
        except ValueError as exc:
            return await self._record(
                name,
                call_id,
                raw_args,
                ToolCallStatus.ERROR,
                errors.INVALID_ARGUMENTS,
                str(exc),
                started,
            )
        return await self._run(spec, grant, call_id, arguments, model_args, started)

    def _refusal(self, name: str) -> tuple[str, str] | None:
        if name not in self.registry and (gone := self.registry.retired(name)) is not None:
            return gone  # a tool its source (an MCP server) stopped offering
        if name not in self.grants:
            if name not in self.registry:
                return errors.UNKNOWN_TOOL, f"there is no tool named {name!r}"
            return errors.TOOL_NOT_GRANTED, f"tool {name!r} is not granted to this agent"
        if name not in self.registry:
            return errors.UNKNOWN_TOOL, f"tool {name!r} is not available in this process"
        return None

    def _validate(
        self, spec: ToolSpec, grant: GrantConfig, args: Any
    ) -> tuple[Any, dict[str, Any]]:
        if not isinstance(args, dict):
            raise ValueError(
                f"arguments of tool {spec.name!r} must be a JSON object, not {type(args).__name__}"
            )
        # Fixed arguments win: the model cannot override what the grant pins down.
        merged = {**args, **grant.fixed_args}
        try:
            validated = spec.args_model.model_validate(merged)
        except ValidationError as exc:
            raise ValueError(_describe(spec.name, exc)) from None
        return validated, json_safe(validated.model_dump(mode="json"))

    async def _run(
        self,
        spec: ToolSpec,
        grant: GrantConfig,
        call_id: str | None,
        arguments: Any,
        model_args: dict[str, Any],
        started: float,
    ) -> ToolOutcome:
        status = (
            ToolCallStatus.PENDING_APPROVAL if grant.requires_approval else ToolCallStatus.APPROVED
        )
        # Secret fixed arguments reach the tool only: never the record or the approval frame.
        model_args = grant.redact(model_args)
        row = await self.store.start_call(
            spec.name,
            status=status.value,
            arguments=model_args,
            call_id=call_id,
            turn_id=self.context.turn_id,
            conversation_id=self.context.conversation_id,
            agent_id=self.context.agent_id,
        )
        outcome = _Ended(spec.name, call_id, row.id, started)
        if grant.requires_approval:
            refused = await self._approval(spec, call_id, outcome, model_args)
            if refused is not None:
                return await self._finish(refused)
            started = outcome.started = time.perf_counter()
        kwargs = self._kwargs(spec, grant, arguments, call_id, row.id)
        timeout = grant.timeout_seconds or self.default_timeout
        try:
            result = await asyncio.wait_for(_invoke(spec, kwargs), timeout)
        except TimeoutError:
            ended = outcome.failed(
                ToolCallStatus.TIMEOUT,
                errors.TIMEOUT,
                f"tool {spec.name!r} did not finish within {timeout:g} s",
            )
        except asyncio.CancelledError:
            await self._finish(
                outcome.failed(ToolCallStatus.ERROR, errors.CANCELLED, "the turn was cancelled")
            )
            raise
        except errors.ToolError as exc:
            ended = outcome.failed(ToolCallStatus.ERROR, exc.code, str(exc))
        except Exception as exc:
            ended = outcome.failed(
                ToolCallStatus.ERROR, errors.TOOL_ERROR, f"{type(exc).__name__}: {exc}"
            )
        else:
            ended = outcome.succeeded(bounded(result, self.max_result_chars))
        return await self._finish(ended)

    async def _approval(
        self, spec: ToolSpec, call_id: str | None, outcome: _Ended, args: dict[str, Any]
    ) -> ToolOutcome | None:
        """Wait for a person; None once approved, else the outcome of the refused call."""
        try:
            decision = await self._await_approval(spec, call_id, outcome.tool_call_id, args)
        except asyncio.CancelledError:
            # The turn ended while the call waited: close the card so nobody decides it later.
            ended = outcome.failed(
                ToolCallStatus.ERROR, errors.CANCELLED, "the turn ended before a decision"
            )
            await asyncio.shield(self._finish(ended))
            raise
        if decision is True:
            return None
        if decision is False:
            return outcome.failed(
                ToolCallStatus.DENIED, errors.APPROVAL_DENIED, "a person denied this call"
            )
        waited = self.approvals.timeout_for(self.approval_timeout)
        return outcome.failed(
            ToolCallStatus.TIMEOUT,
            errors.APPROVAL_TIMEOUT,
            f"nobody approved this call within {waited:g} s",
        )

    async def _await_approval(
        self, spec: ToolSpec, call_id: str | None, tool_call_id: str, args: dict[str, Any]
    ) -> bool | None:
        frame = {
            "conversation_id": self.context.conversation_id,
            "turn_id": self.context.turn_id,
            "call_id": call_id,
            "tool_call_id": tool_call_id,
            "tool": spec.name,
        }
        await self._emit({"type": "tool.approval", **frame, "arguments": args})
        with self.waiting():
            decision = await self.approvals.wait(tool_call_id, self.approval_timeout)
        # Everyone watching learns who decided (or that time ran out), whichever process it was.
        row = await self.store.get_call(tool_call_id)
        deciders = await Users(self.db).many([row.decided_by]) if row.decided_by else []
        name = deciders[0].name if deciders else None
        await self._emit({"type": "tool.decision", **frame, **decision_fields(row, name)})
        return decision

    def _kwargs(
        self,
        spec: ToolSpec,
        grant: GrantConfig,
        arguments: Any,
        call_id: str | None,
        tool_call_id: str,
    ) -> dict[str, Any]:
        context = dataclasses.replace(
            self.context, call_id=call_id, tool_call_id=tool_call_id, settings=grant.settings
        )
        kwargs = {name: getattr(arguments, name) for name in type(arguments).model_fields}
        for param, key in spec.injected.items():
            kwargs[param] = context.value(key)
        return kwargs

    async def _emit(self, frame: dict[str, Any]) -> None:
        if self.emit is None:
            return
        pending = self.emit(frame)
        if inspect.isawaitable(pending):
            await pending

    async def _record(
        self,
        name: str,
        call_id: str | None,
        args: dict[str, Any],
        status: ToolCallStatus,
        code: str,
        message: str,
        started: float,
    ) -> ToolOutcome:
        duration = _ms(started)
        row = await self.store.record_call(
            name,
            status=status.value,
            arguments=bounded(args, self.max_result_chars) if args else args,
            call_id=call_id,
            turn_id=self.context.turn_id,
            conversation_id=self.context.conversation_id,
            agent_id=self.context.agent_id,
            error=f"{code}: {message}",
            duration_ms=duration,
        )
        return ToolOutcome(name, call_id, status.value, None, message, code, duration, row.id)

    async def _finish(self, outcome: ToolOutcome) -> ToolOutcome:
        await self.store.finish_call(
            outcome.tool_call_id or "",
            status=outcome.status,
            result=outcome.result,
            error=None if outcome.ok else f"{outcome.code}: {outcome.error}",
            duration_ms=outcome.duration_ms,
        )
        return outcome


@dataclasses.dataclass
class _Ended:
    """Builds the outcome of a call that got a row, timing from `started`."""

    tool: str
    call_id: str | None
    tool_call_id: str
    started: float

    def succeeded(self, result: Any) -> ToolOutcome:
        return ToolOutcome(
            self.tool,
            self.call_id,
            ToolCallStatus.OK.value,
            result=result,
            duration_ms=_ms(self.started),
            tool_call_id=self.tool_call_id,
        )

    def failed(self, status: ToolCallStatus, code: str, message: str) -> ToolOutcome:
        return ToolOutcome(
            self.tool,
            self.call_id,
            status.value,
            error=message,
            code=code,
            duration_ms=_ms(self.started),
            tool_call_id=self.tool_call_id,
        )


async def _invoke(spec: ToolSpec, kwargs: dict[str, Any]) -> Any:
    if spec.is_async:
        return await spec.func(**kwargs)
    # A blocking tool runs in a thread; on time-out the thread is abandoned, not killed.
    result = await asyncio.to_thread(spec.func, **kwargs)
    if inspect.isawaitable(result):
        return await result
    return result


def _describe(tool: str, exc: ValidationError) -> str:
    problems = []
    for error in exc.errors()[:MAX_REPORTED_ERRORS]:
        field = ".".join(str(part) for part in error["loc"]) or "(arguments)"
        problems.append(f"field {field!r}: {error['msg']}")
    more = len(exc.errors()) - MAX_REPORTED_ERRORS
    if more > 0:
        problems.append(f"and {more} more")
    return f"invalid arguments for tool {tool!r}: " + "; ".join(problems)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
