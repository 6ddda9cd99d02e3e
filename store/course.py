"""A student's work in the course: runs, assets, progress, checklist ticks and notes.

Every action writes its `user_activity_log` row in its own transaction, and the first action in
a module moves it from Not Started to In Progress (logged too). Everything is keyed by the
student's user id, which callers take from the authenticated user or the injected tool
context, never from a request body.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store import crud
from store.activity import add_activity
from store.base import utcnow
from store.db import Database
from store.enums import AssetStatus, ExecutionStatus, ProgressStatus
from store.errors import Conflict, InvalidValue, NotFound
from store.models import (
    CourseModule,
    UserGeneratedAsset,
    UserModuleProgress,
    UserPromptExecution,
)

ASSET_FIELDS = frozenset({"asset_type", "content", "channel", "status"})


async def _progress(session: AsyncSession, user_id: str, module_id: str) -> UserModuleProgress:
    row = await session.scalar(
        select(UserModuleProgress).where(
            UserModuleProgress.user_id == user_id, UserModuleProgress.module_id == module_id
        )
    )
    if row is None:
        row = UserModuleProgress(
            user_id=user_id, module_id=module_id, status=ProgressStatus.NOT_STARTED.value
        )
        session.add(row)
    return row


def _set_status(
    session: AsyncSession, row: UserModuleProgress, status: str, by: str | None
) -> None:
    """Change the status (stamping or clearing `completed_at`) and log it."""
    if row.status == status:
        return
    previous = row.status
    row.status = status
    row.completed_at = (row.completed_at or utcnow()) if status == "Completed" else None
    add_activity(
        session,
        row.user_id,
        "module_status_changed",
        action_ref=row.module_id,
        details={"from": previous, "to": status},
        created_by=by,
    )


async def touch(
    session: AsyncSession, user_id: str, module_id: str, by: str | None = None
) -> UserModuleProgress:
    """Record work in a module: the first action moves it to In Progress."""
    row = await _progress(session, user_id, module_id)
    if row.status in (None, ProgressStatus.NOT_STARTED.value):
        _set_status(session, row, ProgressStatus.IN_PROGRESS.value, by)
    row.last_activity_at = utcnow()
    return row


async def module_for_step(session: AsyncSession, step: str) -> CourseModule | None:
    return await session.scalar(select(CourseModule).where(CourseModule.step == step))


async def touch_step(session: AsyncSession, user_id: str, step: str, by: str | None) -> None:
    """Record work in the module that teaches `step` (runs and assets name a step, not a
    module)."""
    module = await module_for_step(session, step)
    if module is not None:
        await touch(session, user_id, module.id, by)


class CourseWork:
    """The student-side writes and reads of the course tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # Progress ----------------------------------------------------------------------------

    async def progress(self, user_id: str) -> dict[str, UserModuleProgress]:
        """The student's progress rows by module id (modules never touched are absent)."""
        query = select(UserModuleProgress).where(UserModuleProgress.user_id == user_id)
        return {row.module_id: row for row in await crud.scalars(self.db, query)}

    async def set_progress(
        self,
        user_id: str,
        module_id: str,
        *,
        status: str | None = None,
        notes: str | None = None,
    ) -> UserModuleProgress:
        if status is not None and status not in tuple(ProgressStatus):
            raise InvalidValue(
                "user_module_progress", "status", status, "one of " + ", ".join(ProgressStatus)
            )
        return await self._retry(self._set_progress, user_id, module_id, status, notes)

    async def _set_progress(
        self, user_id: str, module_id: str, status: str | None, notes: str | None
    ) -> UserModuleProgress:
        async with crud.writing(self.db, "user_module_progress") as session:
            await crud.fetch(session, CourseModule, module_id)
            row = await _progress(session, user_id, module_id)
            if status is not None:
                _set_status(session, row, status, user_id)
            if notes is not None and notes != row.notes:
                row.notes = notes
                add_activity(
                    session, user_id, "module_notes_saved", action_ref=module_id, created_by=user_id
                )
            row.last_activity_at = utcnow()
            await session.flush()
        return row

    async def tick(
        self,
        user_id: str,
        module_id: str,
        index: int,
        done: bool,
        *,
        by: str | None = None,
        agent_id: str | None = None,
    ) -> UserModuleProgress:
        """Tick (or untick) checklist item `index`; logged, and In Progress on first action."""
        return await self._retry(self._tick, user_id, module_id, index, done, by, agent_id)

    async def _tick(
        self,
        user_id: str,
        module_id: str,
        index: int,
        done: bool,
        by: str | None,
        agent_id: str | None,
    ) -> UserModuleProgress:
        async with crud.writing(self.db, "user_module_progress") as session:
            module = await crud.fetch(session, CourseModule, module_id)
            items = module.checklist_items or []
            if not 0 <= index < len(items):
                raise InvalidValue(
                    "course_modules",
                    "checklist_items",
                    index,
                    f"an index from 0 to {len(items) - 1}",
                )
            row = await touch(session, user_id, module_id, by)
            checked = set(row.checked or [])
            checked.add(index) if done else checked.discard(index)
            row.checked = sorted(checked)
            add_activity(
                session,
                user_id,
                "checklist_ticked" if done else "checklist_unticked",
                action_ref=module_id,
                details={"index": index, "item": items[index], "agent_id": agent_id},
                created_by=by,
            )
            await session.flush()
        return row

    async def set_conversation(
        self, user_id: str, module_id: str, conversation_id: str
    ) -> UserModuleProgress:
        """Remember the student's conversation with the module's step agent (first one wins)."""
        async with crud.writing(self.db, "user_module_progress") as session:
            row = await _progress(session, user_id, module_id)
            if row.conversation_id is None:
                row.conversation_id = conversation_id
            await session.flush()
        return row

    async def owner_of_conversation(self, conversation_id: str) -> UserModuleProgress | None:
        """The progress row (so the student and module) a module conversation belongs to."""
        query = select(UserModuleProgress).where(
            UserModuleProgress.conversation_id == conversation_id
        )
        return await crud.first(self.db, query)

    async def last_worked(self, user_id: str) -> UserModuleProgress | None:
        """Where the student left off: the unfinished module they worked in most recently."""
        query = (
            select(UserModuleProgress)
            .where(
                UserModuleProgress.user_id == user_id,
                UserModuleProgress.last_activity_at.is_not(None),
                UserModuleProgress.status != ProgressStatus.COMPLETED.value,
            )
            .order_by(UserModuleProgress.last_activity_at.desc())
            .limit(1)
        )
        return await crud.first(self.db, query)

    # Runs --------------------------------------------------------------------------------

    async def start_run(
        self,
        user_id: str,
        prompt_code: str,
        step: str,
        rendered_prompt: str,
        snapshot: dict[str, Any],
        *,
        by: str | None = None,
        agent_id: str | None = None,
    ) -> UserPromptExecution:
        """Store a Pending execution with its exact snapshot, log the run, touch the module."""
        async with crud.writing(self.db, "user_prompt_executions") as session:
            row = crud.build(
                UserPromptExecution,
                user_id=user_id,
                prompt_code=prompt_code,
                elevate_step=step,
                input_context_snapshot=snapshot,
                rendered_prompt=rendered_prompt,
                status=ExecutionStatus.PENDING,
                ai_request_timestamp=utcnow(),
            )
            await crud.add(session, row)
            await touch_step(session, user_id, step, by)
            add_activity(
                session,
                user_id,
                "prompt_run",
                action_ref=row.id,
                details={"prompt_code": prompt_code, "step": step, "agent_id": agent_id},
                created_by=by,
            )
            await session.flush()
        return row

    async def finish_run(
        self, execution_id: str, status: str, *, response: Any = None, error: str | None = None
    ) -> UserPromptExecution:
        """Record the outcome once: Success with the output, or Error with the reason."""
        if status not in (ExecutionStatus.SUCCESS, ExecutionStatus.ERROR):
            raise InvalidValue("user_prompt_executions", "status", status, "Success or Error")
        async with crud.writing(self.db, "user_prompt_executions") as session:
            row = await crud.fetch(session, UserPromptExecution, execution_id)
            if row.status != ExecutionStatus.PENDING:
                raise Conflict("user_prompt_executions", f"{execution_id} is already {row.status}")
            row.status = status
            row.ai_response = response
            row.error = error
            row.ai_response_timestamp = utcnow()
            await session.flush()
        return row

    async def execution(self, user_id: str, execution_id: str) -> UserPromptExecution:
        """One of the student's executions; another student's is not found."""
        return await crud.get(self.db, UserPromptExecution, execution_id, user_id=user_id)

    # Assets ------------------------------------------------------------------------------

    async def create_asset(
        self,
        user_id: str,
        elevate_step: str,
        asset_type: str,
        content: str,
        *,
        channel: str | None = None,
        status: str = AssetStatus.DRAFT.value,
        prompt_execution_id: str | None = None,
        by: str | None = None,
        agent_id: str | None = None,
    ) -> UserGeneratedAsset:
        """A new asset (from an execution of the student's own, if given), logged."""
        async with crud.writing(self.db, "user_generated_assets") as session:
            execution = None
            if prompt_execution_id is not None:
                execution = await session.get(UserPromptExecution, prompt_execution_id)
                if execution is None or execution.user_id != user_id:
                    raise NotFound("user_prompt_executions", prompt_execution_id)
            row = crud.build(
                UserGeneratedAsset,
                user_id=user_id,
                elevate_step=elevate_step,
                asset_type=asset_type,
                content=content,
                channel=channel,
                status=status,
                prompt_execution_id=prompt_execution_id,
            )
            await crud.add(session, row)
            if execution is not None and execution.refined_output_asset_id is None:
                execution.refined_output_asset_id = row.id
            await touch_step(session, user_id, elevate_step, by)
            add_activity(
                session,
                user_id,
                "asset_created",
                action_ref=row.id,
                details={"step": elevate_step, "asset_type": asset_type, "agent_id": agent_id},
                created_by=by,
            )
            await session.flush()
        return row

    async def update_asset(self, user_id: str, asset_id: str, **fields: Any) -> UserGeneratedAsset:
        """Edit or archive one of the student's assets; logged with the fields changed."""
        unknown = set(fields) - ASSET_FIELDS
        if unknown:
            name = sorted(unknown)[0]
            raise InvalidValue("user_generated_assets", name, fields[name], "an editable field")
        async with crud.writing(self.db, "user_generated_assets") as session:
            row = await crud.fetch(session, UserGeneratedAsset, asset_id, user_id=user_id)
            changed = {k: v for k, v in fields.items() if getattr(row, k) != v}
            if changed:
                crud.assign(row, **changed, last_updated_at=utcnow())
                await touch_step(session, user_id, row.elevate_step, user_id)
                action = (
                    "asset_archived" if changed.get("status") == "Archived" else "asset_updated"
                )
                add_activity(
                    session,
                    user_id,
                    action,
                    action_ref=row.id,
                    details={"fields": sorted(changed)},
                    created_by=user_id,
                )
            await session.flush()
        return row

    async def assets(self, user_id: str, step: str | None = None) -> list[UserGeneratedAsset]:
        query = select(UserGeneratedAsset).where(UserGeneratedAsset.user_id == user_id)
        if step is not None:
            query = query.where(UserGeneratedAsset.elevate_step == step)
        return await crud.scalars(self.db, query.order_by(UserGeneratedAsset.id.desc()))

    async def executions(self, user_id: str, step: str | None = None) -> list[UserPromptExecution]:
        query = select(UserPromptExecution).where(UserPromptExecution.user_id == user_id)
        if step is not None:
            query = query.where(UserPromptExecution.elevate_step == step)
        return await crud.scalars(self.db, query.order_by(UserPromptExecution.id.desc()))

    @staticmethod
    async def _retry(work: Any, *args: Any) -> Any:
        """A first progress row for a user and module can race; the loser retries on top."""
        try:
            return await work(*args)
        except Conflict:
            return await work(*args)
