"""Grant configuration is checked against its tool, and grants change the agent's version."""

from __future__ import annotations

import pytest

from store.db import Database
from store.errors import Conflict, NotFound
from store.models import Agent
from store.tools import Tools
from tests.tools.conftest import World, make_agent
from tools.errors import InvalidGrant
from tools.grants import GrantConfig, grants_from_rows, validate_grant
from tools.registry import ToolRegistry


def lookup_registry() -> ToolRegistry:
    tools = ToolRegistry()

    @tools.tool
    def lookup(query: str, region: str = "eu", limit: int = 5) -> list[str]:
        """Look things up."""
        return []

    return tools


def test_defaults_and_round_trip() -> None:
    config = GrantConfig()
    assert config.timeout_seconds is None
    assert (config.max_calls_per_turn, config.requires_approval) == (None, False)
    assert config.to_config() == {}
    full = GrantConfig(
        timeout_seconds=5,
        max_calls_per_turn=2,
        requires_approval=True,
        fixed_args={"region": "us"},
        settings={"api": "v2"},
    )
    assert GrantConfig.from_config(full.to_config()) == full


@pytest.mark.parametrize(
    ("config", "detail"),
    [
        ({"fixed_args": {"regoin": "us"}}, "fixed_args regoin are not parameters of the tool"),
        ({"fixed_args": {"limit": "many"}}, "fixed_args.limit: Input should be a valid integer"),
        ({"timeout_seconds": 0}, "timeout_seconds: Input should be greater than 0"),
        ({"max_calls_per_turn": 0}, "max_calls_per_turn: Input should be greater than"),
        ({"requires_aproval": True}, "requires_aproval: Extra inputs are not permitted"),
        ({"secret_args": ["region"]}, "secret_args region are not fixed arguments"),
    ],
)
def test_bad_config_names_agent_and_tool(config: dict[str, object], detail: str) -> None:
    spec = lookup_registry().get("lookup")
    with pytest.raises(InvalidGrant) as caught:
        validate_grant(config, spec, agent="researcher")
    assert str(caught.value).startswith("grant of tool 'lookup' to agent 'researcher': ")
    assert detail in str(caught.value)
    assert caught.value.code == "invalid_grant"


def test_valid_fixed_args_pass() -> None:
    grant = validate_grant(
        {"fixed_args": {"region": "us"}}, lookup_registry().get("lookup"), agent="researcher"
    )
    assert grant.fixed_args == {"region": "us"}


def test_secret_arguments_are_kept_but_never_shown() -> None:
    grant = validate_grant(
        {"fixed_args": {"region": "us", "limit": 3}, "secret_args": ["region"]},
        lookup_registry().get("lookup"),
        agent="researcher",
    )
    assert grant.fixed_args == {"region": "us", "limit": 3}
    assert grant.public_config() == {"fixed_args": {"limit": 3}, "secret_args": ["region"]}
    assert grant.redact({"region": "us", "query": "q"}) == {"query": "q"}
    only_secret = GrantConfig(fixed_args={"region": "us"}, secret_args=["region"])
    assert only_secret.public_config() == {"secret_args": ["region"]}


async def agent_version(db: Database, agent_id: str) -> int:
    async with db.session() as session:
        agent = await session.get(Agent, agent_id)
        assert agent is not None
        return agent.version


async def test_grant_update_revoke_bump_the_agent_version(db: Database, world: World) -> None:
    registry = lookup_registry()
    store = Tools(db)
    [tool] = await store.sync(registry)
    start = await agent_version(db, world.agent_id)

    await store.grant(world.agent_id, tool.id, {"max_calls_per_turn": 1}, created_by=world.user_id)
    assert await agent_version(db, world.agent_id) == start + 1
    with pytest.raises(Conflict, match="already granted"):
        await store.grant(world.agent_id, tool.id, {})

    await store.update_grant(world.agent_id, tool.id, {"fixed_args": {"region": "us"}})
    assert await agent_version(db, world.agent_id) == start + 2
    rows = await store.grants_for_agent(world.agent_id)
    assert [(t.name, g.config) for t, g in rows] == [("lookup", {"fixed_args": {"region": "us"}})]
    grants = grants_from_rows(rows, agent="helper", tools=registry)
    assert grants["lookup"].fixed_args == {"region": "us"}

    await store.revoke(world.agent_id, tool.id)
    assert await agent_version(db, world.agent_id) == start + 3
    assert await store.grants_for_agent(world.agent_id) == []
    with pytest.raises(NotFound):
        await store.revoke(world.agent_id, tool.id)


async def test_grant_needs_an_existing_agent_and_tool(db: Database, world: World) -> None:
    store = Tools(db)
    tool = await store.upsert("lookup", description="Look things up.")
    with pytest.raises(NotFound, match="agents with id='nobody'"):
        await store.grant("nobody", tool.id)
    with pytest.raises(NotFound, match="tools with id='nothing'"):
        await store.grant(world.agent_id, "nothing")


async def test_stored_grants_of_tools_not_loaded_here_are_skipped(
    db: Database, world: World
) -> None:
    store = Tools(db)
    other = await make_agent(db, "other")
    gone = await store.upsert("retired_tool", description="Was removed from the code.")
    await store.grant(other, gone.id, {})
    rows = await store.grants_for_agent(other)
    assert grants_from_rows(rows, agent="other", tools=lookup_registry()) == {}


async def test_stored_bad_config_is_reported_when_loaded(db: Database, world: World) -> None:
    registry = lookup_registry()
    store = Tools(db)
    [tool] = await store.sync(registry)
    await store.grant(world.agent_id, tool.id, {"fixed_args": {"nope": 1}})
    with pytest.raises(InvalidGrant, match="to agent 'helper': fixed_args nope"):
        grants_from_rows(
            await store.grants_for_agent(world.agent_id), agent="helper", tools=registry
        )
