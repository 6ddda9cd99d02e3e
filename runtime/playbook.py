"""Running a playbook prompt on a student's Foundation, the one path for REST and step agents.

1. The prompt's required context is checked: any missing or empty field stops the run with
   `MissingContext` naming every such field with its label, and nothing is stored.
2. The template is rendered (an empty optional field reads "(not provided)") and a `Pending`
   execution is stored with the rendered prompt and the exact snapshot of the values used.
3. The module's step agent's model runs: `List` and `JSON` outputs use structured output where
   the model supports it and are validated; the offline model writes a deterministic draft.
4. The execution ends `Success` with the output, or `Error` with the reason.
5. The tokens the model reported (and their cost) go to the usage ledger, billed to the student
   and the step agent; a used-up daily budget refuses the run at step 1 (`BudgetExceeded`).

Text streams on the bus channel `course-run:<execution id>` as `{"type": "delta", "text"}`
events, then one `{"type": "end", "status"}` event, so any process can relay it to the page.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from runtime.bus import EventBus
from runtime.metering import UsageMeter
from runtime.models import model_name, resolve_model
from runtime.offline import WORD, OfflineChatModel, playbook_draft, usage_for
from runtime.settings import Settings
from store.agents import Agents
from store.course import CourseWork
from store.db import Database
from store.elevate import CourseModules, PlaybookPrompts
from store.errors import NotFound
from store.foundation import FIELDS, Foundations, is_filled, value_at
from store.models import Agent, PlaybookPrompt, UserFoundation, UserPromptExecution
from store.usage import record as record_usage
from tools.builtin.course import set_playbook_runner

log = logging.getLogger(__name__)

PLACEHOLDER = re.compile(r"\{([a-z_]+(?:\.[a-z_]+)?)\}")
NOT_PROVIDED = "(not provided)"
RUN_TIMEOUT_SECONDS = 120.0
SYSTEM = (
    "You write marketing assets for a student of the Elevate course. Follow the prompt's "
    "ROCKET sections exactly. Use only the facts given in its Context; do not invent "
    "testimonials, numbers or guarantees."
)


def channel(execution_id: str) -> str:
    return f"course-run:{execution_id}"


class MissingContext(Exception):
    """Required Foundation fields are empty; `missing` lists `{path, label}` for each."""

    code = "missing_context"

    def __init__(self, prompt_code: str, missing: list[dict[str, str]]) -> None:
        self.prompt_code, self.missing = prompt_code, missing
        labels = ", ".join(f"{m['label']} ({m['path']})" for m in missing)
        super().__init__(f"{prompt_code} needs these Foundation fields filled first: {labels}")


def missing_context(prompt: PlaybookPrompt, row: UserFoundation | None) -> list[dict[str, str]]:
    return [
        {"path": ref["path"], "label": ref["label"]}
        for ref in prompt.required_context or []
        if not is_filled(value_at(row, ref["path"]))
    ]


def _show(value: Any) -> str:
    if not is_filled(value):
        return NOT_PROVIDED
    if isinstance(value, list):
        parts = [
            f"{v.get('name')} (weakness: {v.get('weakness') or 'not given'})"
            if isinstance(v, dict)
            else str(v)
            for v in value
        ]
        return "; ".join(p for p in parts if p.strip())
    return str(value).strip()


def render(template: str, row: UserFoundation | None) -> tuple[str, dict[str, Any]]:
    """The filled template and the snapshot: every field it names, with the value used."""
    snapshot: dict[str, Any] = {}

    def fill(found: re.Match[str]) -> str:
        path = found.group(1)
        if path not in FIELDS:
            return found.group(0)
        value = value_at(row, path)
        snapshot[path] = value if is_filled(value) else None
        return _show(value)

    return PLACEHOLDER.sub(fill, template), snapshot


def output_schema(prompt: PlaybookPrompt) -> type[BaseModel] | None:
    """The structured shape of `List` and `JSON` outputs (None for text outputs)."""
    if prompt.output_type == "List":
        return create_model("PlaybookList", items=(list[str], ...))
    if prompt.output_type == "JSON":
        fields: dict[str, Any] = {name: (str, ...) for name in prompt.output_fields or ["idea"]}
        item = create_model(
            "PlaybookItem", __config__=ConfigDict(coerce_numbers_to_str=True), **fields
        )
        return create_model("PlaybookJSON", items=(list[item], ...))  # type: ignore[valid-type]
    return None


class PlaybookRunner:
    """Starts runs and finishes them in the background; one per server process."""

    def __init__(self, db: Database, settings: Settings, bus: EventBus) -> None:
        self.db, self.settings, self.bus = db, settings, bus
        self.work = CourseWork(db)
        self.tasks: dict[str, asyncio.Task[UserPromptExecution]] = {}
        self.partial: dict[str, str] = {}
        self.meter = UsageMeter(db, settings)
        # Tokens each running execution's model reported so far.
        self.usage: dict[str, dict[str, int]] = {}
        set_playbook_runner(db, self)

    async def start(
        self,
        user_id: str,
        prompt_code: str,
        *,
        by: str | None = None,
        agent_id: str | None = None,
    ) -> UserPromptExecution:
        """Check, store Pending and start the model; MissingContext stores nothing."""
        prompt = await PlaybookPrompts(self.db).by_code(prompt_code)
        row = await Foundations(self.db).find(user_id)
        missing = missing_context(prompt, row)
        if missing:
            raise MissingContext(prompt.prompt_code, missing)
        step_agent = await self._step_agent(prompt.step)
        await self.meter.check(user_id=user_id, agent_id=step_agent.id if step_agent else None)
        rendered, snapshot = render(prompt.rocket_template, row)
        execution = await self.work.start_run(
            user_id, prompt.prompt_code, prompt.step, rendered, snapshot, by=by, agent_id=agent_id
        )
        task = asyncio.create_task(self._run(execution, prompt))
        self.tasks[execution.id] = task
        task.add_done_callback(lambda _: self.tasks.pop(execution.id, None))
        return execution

    async def wait(self, execution_id: str) -> None:
        """Until the run started here is finished (a step agent's tool waits for it)."""
        task = self.tasks.get(execution_id)
        if task is not None:
            await asyncio.shield(task)

    async def close(self) -> None:
        for task in list(self.tasks.values()):
            task.cancel()
        for task in list(self.tasks.values()):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _run(self, execution: UserPromptExecution, prompt: PlaybookPrompt) -> Any:
        status, response, error = "Error", None, None
        try:
            async with asyncio.timeout(RUN_TIMEOUT_SECONDS):
                response = await self._generate(execution, prompt)
            status = "Success"
        except asyncio.CancelledError:
            error = "the server stopped before the model answered"
        except Exception as exc:  # the run's outcome, not a crash: stored as its error
            log.info("playbook run %s failed: %s", execution.id, exc)
            error = f"{type(exc).__name__}: {exc}"[:2000]
        finished = await self.work.finish_run(execution.id, status, response=response, error=error)
        self.partial.pop(execution.id, None)
        await self._record_usage(execution, prompt)
        await self.bus.publish(
            channel(execution.id), {"type": "end", "status": status, "error": error}
        )
        return finished

    async def _step_agent(self, step: str) -> Agent | None:
        try:
            module = next(m for m in await CourseModules(self.db).list() if m.step == step)
            return await Agents(self.db).get(module.agent_id) if module.agent_id else None
        except (StopIteration, NotFound):
            return None

    async def _model(self, step: str) -> Any:
        agent = await self._step_agent(step)
        name = agent.model if agent is not None else None
        return resolve_model(name, self.settings, agent=agent.handle if agent else None)

    def _count(self, execution_id: str, usage: Any) -> None:
        """Add a model answer's reported tokens to the execution's tally."""
        if not usage:
            return
        tally = self.usage.setdefault(execution_id, {})
        details = usage.get("input_token_details") or {}
        for key, value in (
            ("input_tokens", usage.get("input_tokens")),
            ("output_tokens", usage.get("output_tokens")),
            ("cached_tokens", details.get("cache_read")),
        ):
            tally[key] = tally.get(key, 0) + int(value or 0)

    async def _record_usage(self, execution: UserPromptExecution, prompt: PlaybookPrompt) -> None:
        tally = self.usage.pop(execution.id, None)
        if not tally:
            return
        agent = await self._step_agent(prompt.step)
        model = model_name(agent.model if agent is not None else None, self.settings)
        fields = self.meter.ledger_fields(
            model,
            tally,
            source="playbook",
            execution_id=execution.id,
            agent_id=agent.id if agent is not None else None,
            user_id=execution.user_id,
        )
        try:
            await record_usage(self.db, **fields)
        except Exception:  # the run's outcome is stored; a lost usage row is logged, not raised
            log.exception("recording the usage of playbook run %s failed", execution.id)

    async def _generate(self, execution: UserPromptExecution, prompt: PlaybookPrompt) -> Any:
        model = await self._model(prompt.step)
        snapshot = execution.input_context_snapshot or {}
        if isinstance(model, OfflineChatModel):
            draft = playbook_draft(prompt.title, prompt.output_type, snapshot, prompt.output_fields)
            text = _as_text(draft)
            prompt_messages = [SystemMessage(SYSTEM), HumanMessage(execution.rendered_prompt or "")]
            self._count(execution.id, usage_for(prompt_messages, text))
            await self._stream_text(execution.id, text, getattr(model, "delay", 0))
            return draft
        messages = [SystemMessage(SYSTEM), HumanMessage(execution.rendered_prompt or "")]
        schema = output_schema(prompt)
        if schema is not None:
            return await self._structured(execution.id, model, schema, messages)
        text = ""
        async for chunk in model.astream(messages):
            self._count(execution.id, chunk.usage_metadata)
            piece = chunk.text if isinstance(chunk.text, str) else str(chunk.content)
            if piece:
                text += piece
                await self._delta(execution.id, piece)
        if not text.strip():
            raise ValueError("the model returned an empty answer")
        return text

    async def _structured(
        self, execution_id: str, model: Any, schema: type[BaseModel], messages: list[Any]
    ) -> Any:
        try:
            # A plain JSON schema (not the class): the client returns a dict, validated below.
            bound = model.with_structured_output(
                schema.model_json_schema(), method="json_schema", strict=True, include_raw=True
            )
            answer = await bound.ainvoke(messages)
            self._count(execution_id, getattr(answer.get("raw"), "usage_metadata", None))
            raw = answer.get("parsed")
        except NotImplementedError:
            reply = await model.ainvoke(messages)
            self._count(execution_id, reply.usage_metadata)
            raw = json.loads(str(reply.content))
        try:
            value = schema.model_validate(raw).model_dump()
        except ValidationError as exc:
            raise ValueError(f"the model's output does not match {prompt_shape(schema)}") from exc
        await self._stream_text(execution_id, _as_text(value), 0)
        return value

    async def _stream_text(self, execution_id: str, text: str, delay: float) -> None:
        for word in WORD.findall(text):
            await self._delta(execution_id, word)
            if delay:
                await asyncio.sleep(delay)

    async def _delta(self, execution_id: str, text: str) -> None:
        self.partial[execution_id] = self.partial.get(execution_id, "") + text
        await self.bus.publish(channel(execution_id), {"type": "delta", "text": text})


def prompt_shape(schema: type[BaseModel]) -> str:
    return json.dumps(schema.model_json_schema().get("properties", {}))


def _as_text(output: Any) -> str:
    """How an output reads on the page while it streams (and in a saved asset)."""
    if isinstance(output, str):
        return output
    lines = [output["note"], ""] if output.get("note") else []
    for item in output.get("items", []):
        if isinstance(item, dict):
            lines.append("- " + "; ".join(f"{k}: {v}" for k, v in item.items()))
        else:
            lines.append(f"- {item}")
    return "\n".join(lines)


def as_text(output: Any) -> str:
    """Public form of `_as_text`, for routes and tools that turn an output into an asset."""
    return "" if output is None else _as_text(output)
