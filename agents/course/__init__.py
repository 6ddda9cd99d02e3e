"""The Elevate course as shipped data: modules, playbook prompts and one step agent per module.

`ensure_course(db)` runs at every start: it validates the content files, applies them with
`store.course_content` (an operator's edits survive), creates each module's step agent when it
is missing (an existing agent row is the operator's to edit) and grants it the course tools
that are registered. `export_course` and `import_course` round-trip the content as YAML files.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from agents.course.loader import CONTENT_DIR, ContentFile, dump, load_dir
from store.agents import Agents
from store.course_content import MODULE_CONTENT, PROMPT_CONTENT, CourseContent, ModuleContent
from store.db import Database
from store.enums import AgentKind
from store.errors import Conflict, NotFound
from store.models import Agent, CourseModule, PlaybookPrompt
from store.tools import Tools

log = logging.getLogger(__name__)

FOUNDATION_TOOLS = ("read_foundation", "update_foundation", "tick_checklist")
STEP_TOOLS = (
    "read_foundation",
    "update_foundation",
    "list_step_prompts",
    "run_step_prompt",
    "save_asset",
    "tick_checklist",
    "read_step_kpis",
)


def _contents(files: list[ContentFile]) -> list[ModuleContent]:
    return [ModuleContent(f.version, f.module_fields(), f.prompt_fields()) for f in files]


async def ensure_course(db: Database, directory: Path = CONTENT_DIR) -> dict[int, Agent]:
    """Load the shipped course and its step agents; the agents by module number."""
    files = load_dir(directory)
    report = await CourseContent(db).sync(_contents(files))
    if report.kept_edited:
        log.info("course content kept as edited: %s", ", ".join(report.kept_edited))
    return await ensure_step_agents(db, files)


async def ensure_step_agents(db: Database, files: list[ContentFile]) -> dict[int, Agent]:
    """Each module's step agent, created if missing, granted its tools, linked to the module."""
    agents, content = Agents(db), CourseContent(db)
    modules = {m.module_number: m for m in await content.modules()}
    found: dict[int, Agent] = {}
    for file in files:
        number = file.module.module_number
        module = modules.get(number)
        row = await _find_step_agent(agents, module, file.agent.handle)
        if row is None:
            row = await _create_step_agent(agents, file)
        await _grant(
            db, row, FOUNDATION_TOOLS if number == 0 else STEP_TOOLS, step=file.module.step
        )
        if module is not None and module.agent_id != row.id:
            await content.set_agent(module.id, row.id)
        found[number] = row
    return found


async def _find_step_agent(agents: Agents, module: Any, handle: str) -> Agent | None:
    """The module's linked agent, else the system agent with the shipped handle; a person's
    own agent that happens to use the handle is never taken for a step agent."""
    if module is not None and module.agent_id:
        try:
            return await agents.get(module.agent_id)
        except NotFound:
            pass
    try:
        row = await agents.get_by_handle(handle)
    except NotFound:
        return None
    return row if row.kind == AgentKind.SYSTEM.value else None


async def _create_step_agent(agents: Agents, file: ContentFile) -> Agent:
    fields = {"kind": AgentKind.SYSTEM.value, **file.agent.model_dump(exclude={"handle"})}
    try:
        return await agents.create(handle=file.agent.handle, **fields)
    except Conflict:
        # The handle belongs to someone's own agent: take a free one derived from the name.
        return await agents.create(**fields)


async def _grant(db: Database, agent: Agent, names: tuple[str, ...], *, step: Any) -> None:
    """Grant the named tools that exist; the KPI tool reads this module's step only."""
    tools = Tools(db)
    granted = {t.name for t, _ in await tools.grants_for_agent(agent.id)}
    for name in names:
        if name in granted:
            continue
        try:
            tool = await tools.get_by_name(name)
        except NotFound:
            continue
        config = {"fixed_args": {"step": str(step.value)}} if name == "read_step_kpis" else None
        await tools.grant(agent.id, tool.id, config)


def file_form(module: CourseModule, prompts: list[PlaybookPrompt], agent: Agent | None) -> dict:
    """A module's rows in the content-file form (what `export` writes)."""
    fields = {name: getattr(module, name) for name in MODULE_CONTENT}
    data: dict[str, Any] = {
        "version": module.content_version or 1,
        "module": {k: v for k, v in fields.items() if v is not None},
    }
    if agent is not None:
        data["agent"] = {
            "handle": agent.handle,
            "name": agent.name,
            "description": agent.description,
            "goal": agent.goal or "",
            "personality": agent.personality or "",
            "instructions": agent.instructions or "",
        }
    data["prompts"] = [_prompt_form(p) for p in prompts]
    return data


def _prompt_form(prompt: PlaybookPrompt) -> dict[str, Any]:
    fields = {name: getattr(prompt, name) for name in PROMPT_CONTENT}
    form: dict[str, Any] = {
        "code": fields["prompt_code"],
        "title": fields["title"],
        "description": fields["description"],
        "output_type": fields["output_type"],
    }
    if fields["output_fields"]:
        form["output_fields"] = fields["output_fields"]
    form["required_context"] = fields["required_context"]
    form["rocket_template"] = fields["rocket_template"]
    return form


async def export_course(db: Database, directory: Path) -> list[Path]:
    """Write one YAML file per module into `directory`; the paths written."""
    content, agents = CourseContent(db), Agents(db)
    directory.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240  (a command-line export)
    written = []
    for module in await content.modules():
        agent = await agents.get(module.agent_id) if module.agent_id else None
        prompts = await content.prompts(module.step)
        path = directory / f"{module.module_number:02d}_{module.step.lower()}.yaml"
        path.write_text(dump(file_form(module, prompts, agent)), encoding="utf-8")
        written.append(path)
    return written


async def import_course(db: Database, directory: Path, *, by_user_id: str | None = None) -> Any:
    """Validate every file of `directory`, then replace the stored content with it (and the
    step agents' definitions); nothing is stored when a file is invalid."""
    files = load_dir(directory)
    report = await CourseContent(db).replace(_contents(files), by_user_id=by_user_id)
    agents = Agents(db)
    for file in files:
        try:
            row = await agents.get_by_handle(file.agent.handle)
        except NotFound:
            continue
        wanted = file.agent.model_dump(exclude={"handle"})
        changed = {k: v for k, v in wanted.items() if getattr(row, k) != v}
        if changed:
            await agents.update(row.id, updated_by=by_user_id, **changed)
    await ensure_step_agents(db, files)
    return report
