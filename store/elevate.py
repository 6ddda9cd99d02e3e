"""Repositories of the Elevate course tables: the playbook, modules, and a student's work.

Step agents and the KPI pages reach these tables only through the classes here; each raises
NotFound, Conflict or InvalidValue naming the table (and field) at fault.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from store import crud
from store.base import utcnow
from store.db import Database
from store.enums import AssetStatus, ElevateStep, ExecutionStatus, ProgressStatus
from store.errors import Conflict, InvalidValue, NotFound
from store.foundation import validate_patch
from store.models import (
    CourseModule,
    PlaybookPrompt,
    UserActivityLog,
    UserFoundation,
    UserFunnelSnapshot,
    UserGeneratedAsset,
    UserModuleProgress,
    UserPromptExecution,
)

FOUNDATION_SECTIONS = ("company_context", "market_awareness", "customer_avatar")


def _step(table: str, field: str, value: object) -> str:
    """Validate a step given as a query argument (rows validate themselves on assignment)."""
    if value not in tuple(ElevateStep):
        raise InvalidValue(table, field, value, "one of " + ", ".join(ElevateStep))
    return str(value)


class PlaybookPrompts:
    """The playbook: each step's prompts (H1, G3...) with their ROCKET templates."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, **fields: Any) -> PlaybookPrompt:
        return await crud.insert(self.db, crud.build(PlaybookPrompt, **fields))

    async def by_step(self, step: str) -> list[PlaybookPrompt]:
        """A step's prompts in code order (H1, H2, ...)."""
        _step("playbook_prompts", "step", step)
        query = (
            select(PlaybookPrompt)
            .where(PlaybookPrompt.step == step)
            .order_by(PlaybookPrompt.prompt_code)
        )
        return await crud.scalars(self.db, query)

    async def by_code(self, prompt_code: str) -> PlaybookPrompt:
        query = select(PlaybookPrompt).where(PlaybookPrompt.prompt_code == prompt_code)
        found = await crud.first(self.db, query)
        if found is None:
            raise NotFound("playbook_prompts", prompt_code, "prompt_code")
        return found


class CourseModules:
    """Module 0 (Foundation) to 9 (Share)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, **fields: Any) -> CourseModule:
        return await crud.insert(self.db, crud.build(CourseModule, **fields))

    async def update(self, module_id: str, **fields: Any) -> CourseModule:
        return await crud.update(self.db, CourseModule, module_id, updated_at=utcnow(), **fields)

    async def by_number(self, module_number: int) -> CourseModule:
        query = select(CourseModule).where(CourseModule.module_number == module_number)
        found = await crud.first(self.db, query)
        if found is None:
            raise NotFound("course_modules", module_number, "module_number")
        return found

    async def list(self) -> list[CourseModule]:
        query = select(CourseModule).order_by(CourseModule.module_number)
        return await crud.scalars(self.db, query)


class Foundations:
    """A student's Foundation, one row per user, read by every step agent."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, user_id: str) -> UserFoundation:
        query = select(UserFoundation).where(UserFoundation.user_id == user_id)
        found = await crud.first(self.db, query)
        if found is None:
            raise NotFound("user_foundations", user_id, "user_id")
        return found

    async def upsert(self, user_id: str, **fields: Any) -> UserFoundation:
        """Create the Foundation or replace the sections given; sections left out stay."""
        crud.check_fields(UserFoundation, fields)
        for name in FOUNDATION_SECTIONS:
            if name in fields and not isinstance(fields[name], dict):
                raise InvalidValue("user_foundations", name, fields[name], "an object")
            if name in fields:
                # The same field types as the versioned Foundation (`{"pains": "x"}` is refused).
                validate_patch({name: fields[name]})
        try:
            return await self._upsert(user_id, fields)
        except Conflict:
            # Two first saves raced on the unique user_id; the loser updates the winner's row.
            return await self._upsert(user_id, fields)

    async def _upsert(self, user_id: str, fields: dict[str, Any]) -> UserFoundation:
        async with crud.writing(self.db, "user_foundations") as session:
            row = await session.scalar(
                select(UserFoundation).where(UserFoundation.user_id == user_id)
            )
            if row is None:
                row = UserFoundation(user_id=user_id)
                session.add(row)
            crud.assign(row, **fields)
            row.last_updated_at = utcnow()
            await session.flush()
        return row


class PromptExecutions:
    """Runs of playbook prompts: created Pending with the exact context used, then finished."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        user_id: str,
        prompt_code: str,
        elevate_step: str,
        input_context_snapshot: Any,
    ) -> UserPromptExecution:
        row = crud.build(
            UserPromptExecution,
            user_id=user_id,
            prompt_code=prompt_code,
            elevate_step=elevate_step,
            input_context_snapshot=input_context_snapshot,
            status=ExecutionStatus.PENDING,
            ai_request_timestamp=utcnow(),
        )
        return await crud.insert(self.db, row)

    async def finish(
        self,
        execution_id: str,
        status: str,
        ai_response: Any = None,
        *,
        refined_output_asset_id: str | None = None,
    ) -> UserPromptExecution:
        """Record the outcome (Success or Error) once; finishing twice is a Conflict."""
        if status not in (ExecutionStatus.SUCCESS, ExecutionStatus.ERROR):
            raise InvalidValue("user_prompt_executions", "status", status, "Success or Error")
        async with crud.writing(self.db, "user_prompt_executions") as session:
            row = await crud.fetch(session, UserPromptExecution, execution_id)
            if row.status != ExecutionStatus.PENDING:
                raise Conflict("user_prompt_executions", f"{execution_id} is already {row.status}")
            crud.assign(
                row,
                status=status,
                ai_response=ai_response,
                ai_response_timestamp=utcnow(),
                refined_output_asset_id=refined_output_asset_id,
            )
            await session.flush()
        return row

    async def get(self, execution_id: str) -> UserPromptExecution:
        return await crud.get(self.db, UserPromptExecution, execution_id)

    async def list_for_user(
        self, user_id: str, elevate_step: str | None = None
    ) -> list[UserPromptExecution]:
        query = select(UserPromptExecution).where(UserPromptExecution.user_id == user_id)
        if elevate_step is not None:
            _step("user_prompt_executions", "elevate_step", elevate_step)
            query = query.where(UserPromptExecution.elevate_step == elevate_step)
        query = query.order_by(UserPromptExecution.id)
        return await crud.scalars(self.db, query)


class Assets:
    """What the steps produced: Draft, then Implemented or Archived."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        user_id: str,
        elevate_step: str,
        asset_type: str,
        content: str,
        **fields: Any,
    ) -> UserGeneratedAsset:
        row = crud.build(
            UserGeneratedAsset,
            user_id=user_id,
            elevate_step=elevate_step,
            asset_type=asset_type,
            content=content,
            **fields,
        )
        return await crud.insert(self.db, row)

    async def set_status(self, asset_id: str, status: str) -> UserGeneratedAsset:
        if status not in tuple(AssetStatus):
            raise InvalidValue(
                "user_generated_assets", "status", status, "one of " + ", ".join(AssetStatus)
            )
        return await crud.update(
            self.db, UserGeneratedAsset, asset_id, status=status, last_updated_at=utcnow()
        )

    async def update(self, asset_id: str, **fields: Any) -> UserGeneratedAsset:
        fields.setdefault("last_updated_at", utcnow())
        return await crud.update(self.db, UserGeneratedAsset, asset_id, **fields)

    async def get(self, asset_id: str) -> UserGeneratedAsset:
        return await crud.get(self.db, UserGeneratedAsset, asset_id)

    async def list_for_user(
        self, user_id: str, elevate_step: str | None = None
    ) -> list[UserGeneratedAsset]:
        query = select(UserGeneratedAsset).where(UserGeneratedAsset.user_id == user_id)
        if elevate_step is not None:
            _step("user_generated_assets", "elevate_step", elevate_step)
            query = query.where(UserGeneratedAsset.elevate_step == elevate_step)
        query = query.order_by(UserGeneratedAsset.id)
        return await crud.scalars(self.db, query)


class ModuleProgress:
    """Where each student stands in each module (one row per user and module)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def upsert(
        self, user_id: str, module_id: str, status: str, *, notes: str | None = None
    ) -> UserModuleProgress:
        """Set the status; `completed_at` is stamped on completion and cleared otherwise."""
        try:
            return await self._upsert(user_id, module_id, status, notes)
        except Conflict:
            return await self._upsert(user_id, module_id, status, notes)

    async def _upsert(
        self, user_id: str, module_id: str, status: str, notes: str | None
    ) -> UserModuleProgress:
        async with crud.writing(self.db, "user_module_progress") as session:
            row = await session.scalar(self._query(user_id, module_id))
            if row is None:
                row = UserModuleProgress(user_id=user_id, module_id=module_id)
                session.add(row)
            previous = row.completed_at
            row.status = status
            if status == ProgressStatus.COMPLETED:
                row.completed_at = previous or utcnow()
            else:
                row.completed_at = None
            if notes is not None:
                row.notes = notes
            await session.flush()
        return row

    async def get(self, user_id: str, module_id: str) -> UserModuleProgress:
        found = await crud.first(self.db, self._query(user_id, module_id))
        if found is None:
            raise NotFound("user_module_progress", f"{user_id}/{module_id}", "user_id/module_id")
        return found

    async def list_for_user(self, user_id: str) -> list[UserModuleProgress]:
        query = select(UserModuleProgress).where(UserModuleProgress.user_id == user_id)
        return await crud.scalars(self.db, query.order_by(UserModuleProgress.id))

    @staticmethod
    def _query(user_id: str, module_id: str) -> Any:
        return select(UserModuleProgress).where(
            UserModuleProgress.user_id == user_id, UserModuleProgress.module_id == module_id
        )


class FunnelSnapshots:
    """A student's funnel numbers per period; the KPI pages derive trends from them."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self, user_id: str, snapshot_date: datetime, time_period: str, **metrics: Any
    ) -> UserFunnelSnapshot:
        row = crud.build(
            UserFunnelSnapshot,
            user_id=user_id,
            snapshot_date=snapshot_date,
            time_period=time_period,
            **metrics,
        )
        return await crud.insert(self.db, row)

    async def list_for_user(
        self,
        user_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[UserFunnelSnapshot]:
        """Snapshots in date order, optionally within [since, until]."""
        query = select(UserFunnelSnapshot).where(UserFunnelSnapshot.user_id == user_id)
        if since is not None:
            query = query.where(UserFunnelSnapshot.snapshot_date >= since)
        if until is not None:
            query = query.where(UserFunnelSnapshot.snapshot_date <= until)
        query = query.order_by(UserFunnelSnapshot.snapshot_date, UserFunnelSnapshot.id)
        return await crud.scalars(self.db, query)


class ActivityLog:
    """The append-only record of what each user did."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def append(
        self,
        user_id: str,
        action_type: str,
        *,
        action_ref: str | None = None,
        details: Any = None,
        created_by: str | None = None,
    ) -> UserActivityLog:
        row = crud.build(
            UserActivityLog,
            user_id=user_id,
            action_type=action_type,
            action_ref=action_ref,
            details=details,
            created_by=created_by,
            timestamp=utcnow(),
        )
        return await crud.insert(self.db, row)

    async def list_for_user(self, user_id: str, limit: int = 100) -> list[UserActivityLog]:
        """Newest first."""
        query = (
            select(UserActivityLog)
            .where(UserActivityLog.user_id == user_id)
            .order_by(UserActivityLog.timestamp.desc(), UserActivityLog.id.desc())
            .limit(max(1, min(limit, 1000)))
        )
        return await crud.scalars(self.db, query)
