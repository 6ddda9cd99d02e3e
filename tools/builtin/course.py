"""The step agents' course tools: read and update the Foundation, list and run the step's
playbook prompts, save an asset, tick a checklist item.

They act only for the student whose module conversation this is: the student and the module
come from the injected conversation id (the conversation a student opened from a module), never
from the model's arguments, so a coach or teammate in the room, or a model asked to, cannot
reach anyone else's data. Runs go through the server's playbook runner (registered here by the
runtime with `set_playbook_runner`), the same path and checks as the REST API.
"""

from __future__ import annotations

import weakref
from typing import Annotated, Any, Protocol

from pydantic import Field

from store.activity import add_activity
from store.course import CourseWork
from store.elevate import PlaybookPrompts
from store.errors import InvalidValue, NotFound
from store.foundation import (
    FIELDS,
    SUMMARY,
    Foundations,
    completeness,
    is_filled,
    public,
    value_at,
)
from store.models import CourseModule, UserModuleProgress
from tools.context import ToolContext
from tools.errors import ToolError
from tools.registry import tool


class PlaybookStarter(Protocol):
    async def start(self, user_id: str, prompt_code: str, **kwargs: Any) -> Any: ...

    async def wait(self, execution_id: str) -> None: ...


_runners: weakref.WeakKeyDictionary[Any, PlaybookStarter] = weakref.WeakKeyDictionary()


def set_playbook_runner(db: Any, runner: PlaybookStarter) -> None:
    """The runner that runs prompts for tools on `db` (one per server process)."""
    _runners[db] = runner


async def _student(ctx: ToolContext) -> tuple[UserModuleProgress, CourseModule]:
    """The progress row (student, module) this module conversation belongs to."""
    if not ctx.conversation_id:
        raise ToolError("no conversation", code="missing_context")
    progress = await CourseWork(ctx.db).owner_of_conversation(ctx.conversation_id)
    if progress is None:
        raise ToolError(
            "this is not a course module conversation; open the module from the course",
            code="not_a_module_conversation",
        )
    async with ctx.db.read() as session:
        module = await session.get(CourseModule, progress.module_id)
    if module is None:
        raise ToolError("the module no longer exists", code="not_found")
    return progress, module


async def _log(ctx: ToolContext, user_id: str, name: str, details: dict[str, Any]) -> None:
    async with ctx.db.session() as session:
        add_activity(
            session,
            user_id,
            "agent_tool_call",
            action_ref=ctx.tool_call_id,
            details={"tool": name, "agent_id": ctx.agent_id, **details},
        )


@tool
async def read_foundation(*, ctx: ToolContext) -> dict[str, Any]:
    """Read the student's Foundation: every field's value, which are empty, and completeness.

    Field paths (like customer_avatar.pains) are what update_foundation expects.
    """
    progress, _ = await _student(ctx)
    row = await Foundations(ctx.db).find(progress.user_id)
    data = public(row)
    fields = [
        {
            "path": f.path,
            "label": f.label,
            "kind": "list" if f.is_list else "text",
            "filled": is_filled(_value(data, f.path)),
        }
        for f in FIELDS.values()
    ]
    await _log(ctx, progress.user_id, "read_foundation", {})
    return {
        "foundation": {k: v for k, v in data.items() if k != "last_updated_at"},
        "fields": fields,
        "completeness": completeness(row),
    }


def _value(data: dict[str, Any], path: str) -> Any:
    if path == SUMMARY:
        return data.get(SUMMARY)
    section, _, name = path.partition(".")
    return data.get(section, {}).get(name)


@tool
async def update_foundation(changes: dict[str, Any], *, ctx: ToolContext) -> dict[str, Any]:
    """Save what the student told you into their Foundation (a new version, attributed to you).

    Args:
        changes: Field path to new value, e.g. {"customer_avatar.pains": ["Runs out of beans"],
            "company_context.core_offers": "Coffee subscription"}. List fields take lists of
            strings; market_awareness.competitors takes [{"name": ..., "weakness": ...}].
    """
    progress, _ = await _student(ctx)
    patch: dict[str, Any] = {}
    for path, value in changes.items():
        if path not in FIELDS:
            raise ToolError(f"unknown Foundation field {path!r}", code="invalid_value")
        if path == SUMMARY:
            patch[SUMMARY] = value
        else:
            section, _, name = path.partition(".")
            patch.setdefault(section, {})[name] = value
    try:
        row, version = await Foundations(ctx.db).update(
            progress.user_id, patch, by_agent_id=ctx.agent_id
        )
    except InvalidValue as exc:
        raise ToolError(str(exc), code="invalid_value") from exc
    saved = [c["path"] for c in version.changes] if version else []
    return {"version": row.version, "saved": saved}


@tool
async def list_step_prompts(*, ctx: ToolContext) -> list[dict[str, Any]]:
    """List this module's playbook prompts with what each needs and which of it is missing."""
    progress, module = await _student(ctx)
    row = await Foundations(ctx.db).find(progress.user_id)
    listed = []
    for prompt in await PlaybookPrompts(ctx.db).by_step(module.step):
        refs = prompt.required_context or []
        listed.append(
            {
                "prompt_code": prompt.prompt_code,
                "title": prompt.title,
                "description": prompt.description,
                "output_type": prompt.output_type,
                "missing": [r for r in refs if not is_filled(value_at(row, r["path"]))],
            }
        )
    await _log(ctx, progress.user_id, "list_step_prompts", {"step": module.step})
    return listed


@tool
async def run_step_prompt(prompt_code: str, *, ctx: ToolContext) -> dict[str, Any]:
    """Run one of this module's playbook prompts on the student's Foundation and wait for it.

    Args:
        prompt_code: The code from list_step_prompts, e.g. "H1".
    """
    progress, module = await _student(ctx)
    try:
        prompt = await PlaybookPrompts(ctx.db).by_code(prompt_code)
    except NotFound as exc:
        raise ToolError(f"no prompt {prompt_code!r}", code="not_found") from exc
    if prompt.step != module.step:
        raise ToolError(f"{prompt_code} belongs to {prompt.step}, not {module.step}")
    runner = _runners.get(ctx.db)
    if runner is None:
        raise ToolError("prompts cannot run in this process", code="unavailable")
    try:
        execution = await runner.start(progress.user_id, prompt_code, agent_id=ctx.agent_id)
    except Exception as exc:
        if getattr(exc, "code", None) == "missing_context":
            raise ToolError(str(exc), code="missing_context") from exc
        raise
    await runner.wait(execution.id)
    done = await CourseWork(ctx.db).execution(progress.user_id, execution.id)
    return {
        "execution_id": done.id,
        "status": done.status,
        "output": done.ai_response,
        "error": done.error,
    }


@tool
async def save_asset(
    asset_type: Annotated[str, Field(min_length=1, max_length=128)],
    content: Annotated[str, Field(min_length=1)],
    channel: str | None = None,
    prompt_execution_id: str | None = None,
    *,
    ctx: ToolContext,
) -> dict[str, Any]:
    """Save a finished piece (a headline, an email...) to the student's assets as a Draft.

    Args:
        asset_type: What it is, e.g. "Headline", "Email", "Sales Page Section".
        content: The text the student approved.
        channel: Where it will be used, e.g. "Facebook Ads", "Klaviyo", "Website".
        prompt_execution_id: The run it came from, if any.
    """
    progress, module = await _student(ctx)
    try:
        asset = await CourseWork(ctx.db).create_asset(
            progress.user_id,
            module.step,
            asset_type,
            content,
            channel=channel,
            prompt_execution_id=prompt_execution_id,
            agent_id=ctx.agent_id,
        )
    except NotFound as exc:
        raise ToolError(str(exc), code="not_found") from exc
    return {"asset_id": asset.id, "status": asset.status}


@tool
async def tick_checklist(index: int, done: bool = True, *, ctx: ToolContext) -> dict[str, Any]:
    """Tick (or untick) one of this module's checklist items once the student has done it.

    Args:
        index: The item's position in the module's checklist, from 0.
        done: True to tick, False to untick.
    """
    progress, module = await _student(ctx)
    try:
        row = await CourseWork(ctx.db).tick(
            progress.user_id, module.id, index, done, agent_id=ctx.agent_id
        )
    except InvalidValue as exc:
        raise ToolError(str(exc), code="invalid_value") from exc
    return {"checked": row.checked, "items": len(module.checklist_items or [])}
