"""Course content loads from empty, again without changes, and keeps an operator's edits."""

from __future__ import annotations

from pathlib import Path

from agents.course import ensure_course, export_course, import_course
from agents.course.loader import CONTENT_DIR, load_dir
from store.course_content import CourseContent
from store.db import Database
from store.elevate import CourseModules, PlaybookPrompts


async def test_loads_from_empty_then_again_without_changes(db: Database) -> None:
    agents = await ensure_course(db)
    modules = await CourseModules(db).list()
    assert [m.module_number for m in modules] == list(range(10))
    assert all(m.agent_id == agents[m.module_number].id for m in modules)
    assert len(await PlaybookPrompts(db).by_step("Hook")) == 3
    before = {m.id: (m.updated_at, m.content_hash) for m in modules}

    again = await ensure_course(db)
    assert {n: a.id for n, a in again.items()} == {n: a.id for n, a in agents.items()}
    after = {m.id: (m.updated_at, m.content_hash) for m in await CourseModules(db).list()}
    assert after == before


def _bumped(tmp_path: Path, title: str) -> Path:
    """The shipped files with Hook at version 2 and a new title for H1."""
    target = tmp_path / "v2"
    target.mkdir()
    for path in CONTENT_DIR.glob("*.yaml"):
        text = path.read_text()
        if path.name == "01_hook.yaml":
            text = text.replace("version: 1", "version: 2", 1)
            text = text.replace("title: Twenty hooks across four angles", f"title: {title}")
            text = text.replace('title: "Hook: stop', 'title: "Hook v2: stop')
        (target / path.name).write_text(text)
    return target


async def test_a_newer_version_replaces_unedited_rows_but_keeps_an_operator_edit(
    db: Database, tmp_path: Path
) -> None:
    await ensure_course(db)
    hook = await CourseModules(db).by_number(1)
    await CourseModules(db).update(hook.id, objective="Our own objective for hooks.")

    report = await CourseContent(db).sync([])
    assert report.updated == []
    await ensure_course(db, _bumped(tmp_path, "Twenty fresh hooks"))

    hook = await CourseModules(db).by_number(1)
    assert hook.objective == "Our own objective for hooks."
    assert hook.title.startswith("Hook: stop")  # the edited row kept all of its content
    h1 = await PlaybookPrompts(db).by_code("H1")
    assert h1.title == "Twenty fresh hooks"  # the unedited prompt took the new version
    assert h1.content_version == 2


async def test_export_then_import_round_trips(db: Database, tmp_path: Path) -> None:
    await ensure_course(db)
    written = await export_course(db, tmp_path / "out")
    assert len(written) == 10
    exported = load_dir(tmp_path / "out")
    shipped = load_dir()
    assert [f.module_fields() for f in exported] == [f.module_fields() for f in shipped]
    assert [f.prompt_fields() for f in exported] == [f.prompt_fields() for f in shipped]

    gift = tmp_path / "out" / "02_gift.yaml"
    gift.write_text(gift.read_text().replace("Lead magnet ideas ranked", "Gift ideas, ranked"))
    await import_course(db, tmp_path / "out")
    assert (await PlaybookPrompts(db).by_code("G1")).title == "Gift ideas, ranked"
    await ensure_course(db)  # a restart keeps the imported edit
    assert (await PlaybookPrompts(db).by_code("G1")).title == "Gift ideas, ranked"


async def test_a_persons_agent_with_a_step_handle_is_not_taken_for_the_step_agent(
    db: Database,
) -> None:
    from store.agents import Agents
    from store.users import Users

    mallory = await Users(db).create("m@example.com", "Mallory", "correct horse")
    theirs = await Agents(db).create(name="Hook Coach", handle="hook-coach", created_by=mallory.id)
    agents = await ensure_course(db)
    assert agents[1].id != theirs.id and agents[1].kind == "system_agent"
    assert (await CourseModules(db).by_number(1)).agent_id == agents[1].id
    again = await ensure_course(db)
    assert again[1].id == agents[1].id
