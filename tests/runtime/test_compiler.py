"""Compiling agents: validation that names the culprit, caching by version, the delegate tool."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runtime.compiler import DELEGATE, AgentCompiler
from runtime.errors import AgentDefinitionError
from runtime.settings import Settings
from runtime.testing import clear_scripted, scripted
from store.agents import Agents
from store.db import Database
from store.models import Agent
from store.tools import Tools
from tools.registry import ToolRegistry


@pytest.fixture(autouse=True)
def _forget_scripted() -> Iterator[None]:
    yield
    clear_scripted()


@pytest.fixture
def registry() -> ToolRegistry:
    tools = ToolRegistry()

    @tools.tool
    def lookup(term: str, region: str = "eu") -> str:
        """Look a term up."""
        return term

    return tools


@pytest.fixture
def compiler(db: Database, registry: ToolRegistry) -> AgentCompiler:
    return AgentCompiler(db, Settings(), registry)


async def test_compiles_with_granted_tools_and_fixed_args_hidden(
    db: Database, compiler: AgentCompiler, registry: ToolRegistry
) -> None:
    agent = await Agents(db).create(name="Finder", model="offline:default")
    tools = Tools(db)
    await tools.sync(registry)
    await tools.grant(
        agent.id, (await tools.get_by_name("lookup")).id, {"fixed_args": {"region": "us"}}
    )
    compiled = await compiler.compile(agent.id)
    assert compiled.tool_names == ["lookup"]
    assert compiled.model_name == "offline:default"
    assert compiled.grants["lookup"].fixed_args == {"region": "us"}
    assert compiled.warnings == []


async def test_cache_is_rebuilt_after_an_edit(db: Database, compiler: AgentCompiler) -> None:
    agent = await Agents(db).create(name="Editable", model="offline:default")
    first = await compiler.compile(agent.id)
    assert await compiler.compile(agent.id) is first
    assert compiler.builds == 1
    await Agents(db).update(agent.id, instructions="Answer in French.")
    second = await compiler.compile(agent.id)
    assert second is not first and second.version == 2
    assert compiler.builds == 2


async def test_cache_is_rebuilt_when_a_delegate_changes(
    db: Database, compiler: AgentCompiler
) -> None:
    helper = await Agents(db).create(name="Helper")
    boss = await Agents(db).create(name="Boss", delegates_to=[helper.id])
    first = await compiler.compile(boss.id)
    assert [d.handle for d in first.delegates] == ["helper"]
    await Agents(db).update(helper.id, handle="aide")
    second = await compiler.compile(boss.id)
    assert [d.handle for d in second.delegates] == ["aide"]
    assert second.tool_names == [DELEGATE]


async def test_unknown_provider_names_agent_and_model(
    db: Database, compiler: AgentCompiler
) -> None:
    agent = await Agents(db).create(name="Oddball", model="martian:gpt")
    with pytest.raises(AgentDefinitionError) as caught:
        await compiler.compile(agent.id)
    assert caught.value.agent == "Oddball" and caught.value.field == "model"
    assert "martian" in str(caught.value)


async def test_granted_tool_not_registered_is_named(db: Database, compiler: AgentCompiler) -> None:
    agent = await Agents(db).create(name="Stale")
    tools = Tools(db)
    ghost = await tools.upsert("ghost_tool", description="Gone.")
    await tools.grant(agent.id, ghost.id)
    with pytest.raises(AgentDefinitionError, match=r"'Stale'.*ghost_tool"):
        await compiler.compile(agent.id)


async def test_listed_tool_must_exist_and_be_registered(
    db: Database, compiler: AgentCompiler, registry: ToolRegistry
) -> None:
    tools = Tools(db)
    await tools.sync(registry)
    lookup = await tools.get_by_name("lookup")
    ghost = await tools.upsert("ghost_tool", description="Gone.")
    listed = await Agents(db).create(name="Lister", tools=[lookup.id])
    compiled = await compiler.compile(listed.id)
    assert compiled.warnings == ["tool 'lookup' is listed on the agent but not granted"]
    await Agents(db).update(listed.id, tools=[ghost.id])
    with pytest.raises(AgentDefinitionError, match=r"'Lister'.*ghost_tool"):
        await compiler.compile(listed.id)


async def test_missing_and_self_delegates_are_errors(db: Database, compiler: AgentCompiler) -> None:
    agent = await Agents(db).create(name="Lonely")
    # Written behind the repository's back, as a stale row or another tool might.
    async with db.session() as session:
        row = await session.get(Agent, agent.id)
        assert row is not None
        row.delegates_to = ["01GONEAGENT"]
        row.version += 1
    with pytest.raises(AgentDefinitionError, match=r"'Lonely'.*delegates_to.*01GONEAGENT"):
        await compiler.compile(agent.id)
    async with db.session() as session:
        row = await session.get(Agent, agent.id)
        assert row is not None
        row.delegates_to = [agent.id]
        row.version += 1
    with pytest.raises(AgentDefinitionError, match="itself"):
        await compiler.compile(agent.id)


async def test_delegation_cycle_is_a_warning(db: Database, compiler: AgentCompiler) -> None:
    agents = Agents(db)
    a = await agents.create(name="Alpha")
    b = await agents.create(name="Beta", delegates_to=[a.id])
    await agents.update(a.id, delegates_to=[b.id])
    compiled = await compiler.compile(a.id)
    assert len(compiled.warnings) == 1
    assert "@alpha -> @beta -> @alpha" in compiled.warnings[0]
    assert "max_delegation_depth=3" in compiled.warnings[0]


async def test_unknown_agent(compiler: AgentCompiler) -> None:
    with pytest.raises(AgentDefinitionError, match="no such agent"):
        await compiler.compile("01NOSUCHAGENT")


async def test_delegate_schema_enumerates_handles(db: Database, compiler: AgentCompiler) -> None:
    model = scripted("planner", "ok")
    writer = await Agents(db).create(name="Writer", description="Drafts copy")
    researcher = await Agents(db).create(name="Researcher")
    planner = await Agents(db).create(
        name="Planner", model="scripted:planner", delegates_to=[writer.id, researcher.id]
    )
    compiled = await compiler.compile(planner.id)
    assert [d.handle for d in compiled.delegates] == ["writer", "researcher"]
    assert compiled.tool_names == [DELEGATE]
    assert model.calls == 0


async def test_builtin_agents_are_idempotent_and_compile_cleanly(db: Database) -> None:
    import tools.builtin  # noqa: F401  (registers remember/recall)
    from agents.builtin import ensure_builtin_agents
    from tools.registry import registry as default_registry

    await Tools(db).sync(default_registry)
    first = await ensure_builtin_agents(db)
    again = await ensure_builtin_agents(db)
    assert sorted(first) == ["assistant", "researcher", "writer"]
    assert {h: a.version for h, a in again.items()} == {h: a.version for h, a in first.items()}
    assert all(a.kind == "system_agent" for a in again.values())
    compiler = AgentCompiler(db, Settings(default_model="offline:default"), default_registry)
    assistant = await compiler.compile(again["assistant"].id)
    assert [d.handle for d in assistant.delegates] == ["researcher", "writer"]
    assert assistant.tool_names == ["recall", "remember", DELEGATE]
    assert assistant.warnings == []
    writer = await compiler.compile(again["writer"].id)
    assert [d.handle for d in writer.delegates] == ["researcher"]
