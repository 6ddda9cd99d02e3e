"""Shipped course content into `course_modules` and `playbook_prompts`, keeping operator edits.

Each row remembers the content version it was loaded from and a hash of its content as
loaded. On start the shipped files are applied like this, per module and per prompt:

- no row yet: insert it;
- the row's version is older and its content still matches its hash (nobody edited it):
  replace it with the shipped content;
- otherwise (same version, or edited since it was loaded): leave it alone.

So a restart changes nothing, and an operator's edit survives until they choose to import.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store import crud
from store.base import utcnow
from store.db import Database
from store.errors import NotFound
from store.models import CourseModule, PlaybookPrompt

MODULE_CONTENT = (
    "module_number",
    "step",
    "title",
    "objective",
    "text_content",
    "grid_definition",
    "checklist_items",
    "implementation_guide",
    "example_text",
    "video_url",
    "worksheet_url",
    "example_image_url",
    "category",
    "tags",
)
PROMPT_CONTENT = (
    "prompt_code",
    "step",
    "title",
    "description",
    "rocket_template",
    "required_context",
    "output_type",
    "output_fields",
)


@dataclass(frozen=True)
class ModuleContent:
    """One module's shipped content: its version, module fields and prompts' fields."""

    version: int
    module: dict[str, Any]
    prompts: list[dict[str, Any]]


@dataclass
class SyncReport:
    """What a load did, by module number and prompt code."""

    inserted: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    kept_edited: list[str] = field(default_factory=list)


def content_hash(row: Any, names: tuple[str, ...]) -> str:
    """A stable hash of a row's (or a dict's) content fields."""
    get = row.get if isinstance(row, dict) else lambda key: getattr(row, key, None)
    data = {name: get(name) for name in names}
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class CourseContent:
    """Loads shipped content and reads or replaces it as a whole (export and import)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def sync(self, modules: list[ModuleContent]) -> SyncReport:
        """Apply shipped content by the rules above, in one transaction."""
        report = SyncReport()
        async with crud.writing(self.db, "course_modules") as session:
            for content in modules:
                await self._sync_module(session, content, report)
                for prompt in content.prompts:
                    await self._sync_prompt(session, content.version, prompt, report)
            await session.flush()
        return report

    async def _sync_module(
        self, session: AsyncSession, content: ModuleContent, report: SyncReport
    ) -> None:
        number = content.module["module_number"]
        row = await session.scalar(select(CourseModule).where(CourseModule.module_number == number))
        await _apply(
            session,
            row,
            CourseModule,
            content.module,
            content.version,
            MODULE_CONTENT,
            f"module {number}",
            report,
        )

    async def _sync_prompt(
        self, session: AsyncSession, version: int, fields: dict[str, Any], report: SyncReport
    ) -> None:
        code = fields["prompt_code"]
        row = await session.scalar(select(PlaybookPrompt).where(PlaybookPrompt.prompt_code == code))
        await _apply(
            session, row, PlaybookPrompt, fields, version, PROMPT_CONTENT, f"prompt {code}", report
        )

    async def replace(
        self, modules: list[ModuleContent], *, by_user_id: str | None = None
    ) -> SyncReport:
        """An operator's import: every module and prompt takes the given content, whatever
        its version; the rows keep their shipped hash, so they count as edited unless the
        import equals what was shipped."""
        report = SyncReport()
        async with crud.writing(self.db, "course_modules") as session:
            for content in modules:
                number = content.module["module_number"]
                row = await session.scalar(
                    select(CourseModule).where(CourseModule.module_number == number)
                )
                _replace(
                    session,
                    row,
                    CourseModule,
                    content.module,
                    by_user_id,
                    f"module {number}",
                    report,
                )
                for prompt in content.prompts:
                    found = await session.scalar(
                        select(PlaybookPrompt).where(
                            PlaybookPrompt.prompt_code == prompt["prompt_code"]
                        )
                    )
                    _replace(
                        session,
                        found,
                        PlaybookPrompt,
                        prompt,
                        None,
                        f"prompt {prompt['prompt_code']}",
                        report,
                    )
            await session.flush()
        return report

    async def modules(self) -> list[CourseModule]:
        return await crud.scalars(
            self.db, select(CourseModule).order_by(CourseModule.module_number)
        )

    async def prompts(self, step: str | None = None) -> list[PlaybookPrompt]:
        query = select(PlaybookPrompt).order_by(PlaybookPrompt.step, PlaybookPrompt.prompt_code)
        if step is not None:
            query = query.where(PlaybookPrompt.step == step)
        return await crud.scalars(self.db, query)

    async def module(self, module_id: str) -> CourseModule:
        return await crud.get(self.db, CourseModule, module_id)

    async def update_prompt(self, prompt_code: str, **fields: Any) -> PlaybookPrompt:
        """Edit a prompt by code (a staff edit: it then counts as edited)."""
        async with crud.writing(self.db, "playbook_prompts") as session:
            row = await session.scalar(
                select(PlaybookPrompt).where(PlaybookPrompt.prompt_code == prompt_code)
            )
            if row is None:
                raise NotFound("playbook_prompts", prompt_code, "prompt_code")
            crud.assign(row, **fields)
            await session.flush()
        return row

    async def set_agent(self, module_id: str, agent_id: str) -> None:
        """Link a module to its step agent (not content: it does not count as an edit)."""
        async with crud.writing(self.db, "course_modules") as session:
            row = await crud.fetch(session, CourseModule, module_id)
            row.agent_id = agent_id

    async def edited(self, module_number: int) -> bool:
        """Whether an operator changed the module since it was loaded."""
        row = await crud.first(
            self.db, select(CourseModule).where(CourseModule.module_number == module_number)
        )
        if row is None:
            raise NotFound("course_modules", module_number, "module_number")
        return row.content_hash != content_hash(row, MODULE_CONTENT)


async def _apply(
    session: AsyncSession,
    row: Any,
    model: type[Any],
    fields: dict[str, Any],
    version: int,
    names: tuple[str, ...],
    label: str,
    report: SyncReport,
) -> None:
    shipped = content_hash(fields, names)
    if row is None:
        session.add(crud.build(model, **fields, content_version=version, content_hash=shipped))
        report.inserted.append(label)
        return
    if (row.content_version or 0) >= version:
        return
    if row.content_hash is not None and row.content_hash != content_hash(row, names):
        report.kept_edited.append(label)
        return
    crud.assign(row, **fields, content_version=version, content_hash=shipped)
    if model is CourseModule:
        row.updated_at = utcnow()
    report.updated.append(label)


def _replace(
    session: AsyncSession,
    row: Any,
    model: type[Any],
    fields: dict[str, Any],
    by_user_id: str | None,
    label: str,
    report: SyncReport,
) -> None:
    if row is None:
        session.add(crud.build(model, **fields))
        report.inserted.append(label)
        return
    crud.assign(row, **fields)
    if model is CourseModule:
        row.updated_at, row.updated_by = utcnow(), by_user_id
    report.updated.append(label)
