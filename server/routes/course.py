"""The course REST API (DESIGN section 10): a student's modules, Foundation, runs, assets,
progress and activity; staff edit modules and prompts.

Everything a student reads or changes is keyed by the authenticated user; another student's
execution or asset answers 404. Field validation failures are 422 naming the field.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, status
from fastapi.responses import JSONResponse, StreamingResponse

from agents.course.loader import check_template
from runtime.playbook import MissingContext, PlaybookRunner, channel
from server.deps import CurrentUser, DatabaseDep, ServicesDep
from server.errors import ApiError, forbidden
from server.schemas.course import (
    ActivityOut,
    AssetCreate,
    AssetOut,
    AssetUpdate,
    ChecklistTick,
    CourseOverview,
    ExecutionOut,
    FoundationOut,
    FoundationVersionOut,
    ModuleCreate,
    ModuleDetail,
    ModuleSummary,
    ModuleUpdate,
    ProgressOut,
    ProgressUpdate,
    PromptCreate,
    PromptPublic,
    PromptUpdate,
    RunAccepted,
    Step,
)
from store.conversations import Conversations, NewParticipant
from store.course import CourseWork
from store.course_content import CourseContent
from store.db import Database
from store.elevate import ActivityLog, CourseModules, PlaybookPrompts
from store.errors import Conflict, InvalidValue
from store.foundation import FIELDS, Foundations, completeness, is_filled, public, value_at
from store.models import CourseModule, PlaybookPrompt, User, UserModuleProgress

router = APIRouter(prefix="/api/course", tags=["course"])
NOT_STARTED = "Not Started"


def _staff(user: User) -> None:
    if not user.is_staff:
        raise forbidden("only course staff may edit modules and prompts")


def _invalid(exc: InvalidValue) -> ApiError:
    return ApiError(422, "invalid_value", str(exc), details={"field": exc.field})


def _runner(services: Any) -> PlaybookRunner:
    return services.playbook


# Modules -------------------------------------------------------------------------------


def _summary(module: CourseModule, progress: UserModuleProgress | None) -> ModuleSummary:
    items = list(module.checklist_items or [])
    checked = [i for i in (progress.checked or []) if i < len(items)] if progress else []
    return ModuleSummary(
        id=module.id,
        module_number=module.module_number,
        step=module.step,
        title=module.title,
        objective=module.objective,
        status=progress.status if progress else NOT_STARTED,
        completed_checklist=len(checked),
        checklist_items=items,
        agent_id=module.agent_id,
    )


@router.get("/modules", response_model=list[ModuleSummary])
async def list_modules(user: CurrentUser, db: DatabaseDep) -> list[ModuleSummary]:
    progress = await CourseWork(db).progress(user.id)
    return [_summary(m, progress.get(m.id)) for m in await CourseModules(db).list()]


@router.get("/overview", response_model=CourseOverview)
async def overview(user: CurrentUser, db: DatabaseDep) -> CourseOverview:
    """Course completion, where the student left off, and the Foundation's completeness."""
    work = CourseWork(db)
    modules = await CourseModules(db).list()
    progress = await work.progress(user.id)
    done = sum(1 for m in modules if getattr(progress.get(m.id), "status", "") == "Completed")
    last = await work.last_worked(user.id)
    first_open = next(
        (m.id for m in modules if getattr(progress.get(m.id), "status", "") != "Completed"), None
    )
    continue_id = last.module_id if last is not None else first_open
    return CourseOverview(
        completion_percent=round(100 * done / len(modules), 1) if modules else 0.0,
        modules_completed=done,
        modules=len(modules),
        continue_module_id=continue_id,
        foundation_completeness=completeness(await Foundations(db).find(user.id)),
    )


def _prompt_out(prompt: PlaybookPrompt, foundation: Any = None, *, mark: bool = False) -> Any:
    refs = [
        {**ref, "filled": is_filled(value_at(foundation, ref["path"])) if mark else None}
        for ref in prompt.required_context or []
    ]
    fields = {name: getattr(prompt, name) for name in PromptPublic.model_fields}
    return PromptPublic.model_validate({**fields, "required_context": refs})


async def _conversation(db: Database, user: User, module: CourseModule) -> str | None:
    """The student's own conversation with the module's step agent, created once."""
    work = CourseWork(db)
    progress = (await work.progress(user.id)).get(module.id)
    if progress is not None and progress.conversation_id:
        return progress.conversation_id
    if module.agent_id is None:
        return None
    conversation = await Conversations(db).create(
        f"{module.title.split(':')[0]} with your step agent",
        user.id,
        participants=[NewParticipant(agent_id=module.agent_id)],
    )
    row = await work.set_conversation(user.id, module.id, conversation.id)
    return row.conversation_id


@router.get("/modules/{module_id}", response_model=ModuleDetail)
async def get_module(module_id: str, user: CurrentUser, db: DatabaseDep) -> Any:
    module = await _module(db, module_id)
    foundation = await Foundations(db).find(user.id)
    prompts = await PlaybookPrompts(db).by_step(module.step)
    conversation_id = await _conversation(db, user, module)
    progress = (await CourseWork(db).progress(user.id)).get(module.id)
    detail = ModuleDetail.model_validate(
        {
            **module.to_dict(),
            "checklist_items": module.checklist_items or [],
            "playbook_prompts": [_prompt_out(p, foundation, mark=True) for p in prompts],
            "progress": _progress_out(progress),
            "conversation_id": conversation_id,
        }
    )
    return detail


async def _module(db: Database, module_id: str) -> CourseModule:
    return await CourseContent(db).module(module_id)


def _progress_out(row: UserModuleProgress | None) -> ProgressOut:
    if row is None:
        return ProgressOut(status=NOT_STARTED)
    return ProgressOut(
        status=row.status, notes=row.notes, checked=row.checked or [], completed_at=row.completed_at
    )


@router.post("/modules", status_code=status.HTTP_201_CREATED, response_model=ModuleSummary)
async def create_module(body: ModuleCreate, user: CurrentUser, db: DatabaseDep) -> Any:
    _staff(user)
    module = await CourseModules(db).create(
        **body.model_dump(exclude_unset=True), created_by=user.id
    )
    return _summary(module, None)


@router.patch("/modules/{module_id}", response_model=ModuleSummary)
async def update_module(
    module_id: str, body: ModuleUpdate, user: CurrentUser, db: DatabaseDep
) -> Any:
    _staff(user)
    await _module(db, module_id)
    module = await CourseModules(db).update(
        module_id, updated_by=user.id, **body.model_dump(exclude_unset=True)
    )
    progress = (await CourseWork(db).progress(user.id)).get(module.id)
    return _summary(module, progress)


@router.put("/modules/{module_id}/progress", response_model=ProgressOut)
async def set_progress(
    module_id: str, body: ProgressUpdate, user: CurrentUser, db: DatabaseDep
) -> ProgressOut:
    await _module(db, module_id)
    row = await CourseWork(db).set_progress(
        user.id, module_id, status=body.status, notes=body.notes
    )
    return _progress_out(row)


@router.put("/modules/{module_id}/checklist/{index}", response_model=ProgressOut)
async def tick(
    module_id: str, index: int, body: ChecklistTick, user: CurrentUser, db: DatabaseDep
) -> ProgressOut:
    try:
        row = await CourseWork(db).tick(user.id, module_id, index, body.done, by=user.id)
    except InvalidValue as exc:
        raise _invalid(exc) from exc
    return _progress_out(row)


# Prompts -------------------------------------------------------------------------------


@router.get("/prompts", response_model=list[PromptPublic])
async def list_prompts(
    user: CurrentUser, db: DatabaseDep, step: Annotated[Step | None, Query()] = None
) -> list[Any]:
    foundation = await Foundations(db).find(user.id)
    prompts = await CourseContent(db).prompts(step)
    return [_prompt_out(p, foundation, mark=True) for p in prompts]


def _context(refs: list[Any]) -> list[dict[str, str]]:
    """Required context as `{path, label}`, labels defaulting to the field's own."""
    out = []
    for ref in refs:
        path = ref if isinstance(ref, str) else ref.path
        if path not in FIELDS:
            raise ApiError(
                422,
                "invalid_value",
                f"unknown Foundation field {path!r}",
                details={"field": "required_context"},
            )
        label = None if isinstance(ref, str) else ref.label
        out.append({"path": path, "label": label or FIELDS[path].label})
    return out


def _template(template: str) -> str:
    try:
        check_template(template)
    except ValueError as exc:
        raise ApiError(
            422, "invalid_value", str(exc), details={"field": "rocket_template"}
        ) from exc
    return template


@router.post("/prompts", status_code=status.HTTP_201_CREATED, response_model=PromptPublic)
async def create_prompt(body: PromptCreate, user: CurrentUser, db: DatabaseDep) -> Any:
    _staff(user)
    fields = body.model_dump(exclude={"required_context"})
    fields["rocket_template"] = _template(body.rocket_template)
    try:
        prompt = await PlaybookPrompts(db).create(
            **fields, required_context=_context(body.required_context)
        )
    except Conflict as exc:
        raise ApiError(409, "conflict", f"prompt {body.prompt_code} exists") from exc
    return _prompt_out(prompt)


@router.patch("/prompts/{prompt_code}", response_model=PromptPublic)
async def update_prompt(
    prompt_code: str, body: PromptUpdate, user: CurrentUser, db: DatabaseDep
) -> Any:
    _staff(user)
    fields = body.model_dump(exclude_unset=True, exclude={"required_context"})
    if body.rocket_template is not None:
        _template(body.rocket_template)
    if body.required_context is not None:
        fields["required_context"] = _context(body.required_context)
    return _prompt_out(await CourseContent(db).update_prompt(prompt_code, **fields))


@router.post(
    "/prompts/{prompt_code}/run", status_code=status.HTTP_202_ACCEPTED, response_model=RunAccepted
)
async def run_prompt(
    prompt_code: str,
    user: CurrentUser,
    services: ServicesDep,
    body: Annotated[dict[str, Any] | None, Body()] = None,
) -> Any:
    try:
        execution = await _runner(services).start(user.id, prompt_code, by=user.id)
    except MissingContext as exc:
        return JSONResponse(
            {"code": exc.code, "missing": exc.missing, "message": str(exc)}, status_code=422
        )
    return {"execution": ExecutionOut.model_validate(execution)}


# Runs ----------------------------------------------------------------------------------


@router.get("/executions", response_model=list[ExecutionOut])
async def list_executions(
    user: CurrentUser, db: DatabaseDep, step: Annotated[Step | None, Query()] = None
) -> list[Any]:
    return await CourseWork(db).executions(user.id, step)


@router.get("/executions/{execution_id}", response_model=ExecutionOut)
async def get_execution(execution_id: str, user: CurrentUser, db: DatabaseDep) -> Any:
    return await CourseWork(db).execution(user.id, execution_id)


@router.get("/executions/{execution_id}/stream")
async def stream_execution(
    execution_id: str, user: CurrentUser, db: DatabaseDep, services: ServicesDep
) -> StreamingResponse:
    """The run as newline-delimited JSON: `delta` lines while it generates, then one `end`
    line with the stored execution. A finished run sends only the `end` line."""
    await CourseWork(db).execution(user.id, execution_id)
    subscription = await services.bus.subscribe(channel(execution_id))
    return StreamingResponse(
        _relay(db, services, user.id, execution_id, subscription),
        media_type="application/x-ndjson",
    )


async def _relay(
    db: Database, services: Any, user_id: str, execution_id: str, subscription: Any
) -> AsyncIterator[bytes]:
    work = CourseWork(db)
    try:
        row = await work.execution(user_id, execution_id)
        if row.status == "Pending":
            partial = _runner(services).partial.get(execution_id)
            if partial:
                yield _line({"type": "delta", "text": partial})
            async with asyncio.timeout(180):
                async for event in subscription:
                    if event.get("type") == "end":
                        break
                    yield _line(event)
            row = await work.execution(user_id, execution_id)
        out = ExecutionOut.model_validate(row).model_dump(mode="json")
        yield _line({"type": "end", "status": row.status, "execution": out})
    except TimeoutError:
        yield _line({"type": "end", "status": "Pending", "execution": None})
    finally:
        await services.bus.unsubscribe(subscription)


def _line(event: dict[str, Any]) -> bytes:
    return (json.dumps(event, ensure_ascii=False) + "\n").encode()


# Foundation ----------------------------------------------------------------------------


def _foundation_out(row: Any) -> FoundationOut:
    return FoundationOut(**public(row), completeness=completeness(row))


@router.get("/foundation", response_model=FoundationOut)
async def get_foundation(user: CurrentUser, db: DatabaseDep) -> FoundationOut:
    return _foundation_out(await Foundations(db).find(user.id))


@router.patch("/foundation", response_model=FoundationOut)
async def patch_foundation(
    user: CurrentUser, db: DatabaseDep, body: Annotated[dict[str, Any], Body()]
) -> FoundationOut:
    try:
        row, _ = await Foundations(db).update(user.id, body, by_user_id=user.id)
    except InvalidValue as exc:
        raise _invalid(exc) from exc
    return _foundation_out(row)


@router.get("/foundation/history", response_model=list[FoundationVersionOut])
async def foundation_history(user: CurrentUser, db: DatabaseDep) -> list[Any]:
    return await Foundations(db).history(user.id)


# Assets and activity -------------------------------------------------------------------


@router.post("/assets", status_code=status.HTTP_201_CREATED, response_model=AssetOut)
async def create_asset(body: AssetCreate, user: CurrentUser, db: DatabaseDep) -> Any:
    fields = body.model_dump(exclude={"elevate_step", "asset_type", "content"})
    return await CourseWork(db).create_asset(
        user.id, body.elevate_step, body.asset_type, body.content, by=user.id, **fields
    )


@router.patch("/assets/{asset_id}", response_model=AssetOut)
async def update_asset(asset_id: str, body: AssetUpdate, user: CurrentUser, db: DatabaseDep) -> Any:
    return await CourseWork(db).update_asset(
        user.id, asset_id, **body.model_dump(exclude_unset=True)
    )


@router.get("/assets", response_model=list[AssetOut])
async def list_assets(
    user: CurrentUser, db: DatabaseDep, step: Annotated[Step | None, Query()] = None
) -> list[Any]:
    return await CourseWork(db).assets(user.id, step)


@router.get("/activity", response_model=list[ActivityOut])
async def activity(
    user: CurrentUser, db: DatabaseDep, limit: Annotated[int, Query(ge=1, le=1000)] = 200
) -> list[Any]:
    return await ActivityLog(db).list_for_user(user.id, limit)
