"""`remember` and `recall` through the executor, with the caller injected by the runtime."""

from __future__ import annotations

from typing import Any

import tools.builtin  # noqa: F401  (registers the built-ins)
from store.db import Database
from store.memories import Memories
from tests.tools.conftest import World
from tools.executor import ToolExecutor
from tools.grants import GrantConfig
from tools.registry import registry

GRANTS = {"remember": GrantConfig(), "recall": GrantConfig()}


def run_as(db: Database, world: World, **context: Any) -> ToolExecutor:
    return ToolExecutor(registry, db, grants=GRANTS, context=world.context(**context))


async def test_remember_records_its_source(db: Database, world: World) -> None:
    outcome = await run_as(db, world).call(
        "remember", {"content": "Ada prefers metric units", "tags": ["units"]}, "c1"
    )
    assert outcome.ok and outcome.result["scope"] == "user"
    memory = await Memories(db).get(outcome.result["remembered"])
    assert (memory.user_id, memory.group_id, memory.tags) == (world.user_id, None, ["units"])
    assert memory.source == {
        "conversation_id": world.conversation_id,
        "message_seq": 1,
        "turn_id": world.turn_id,
        "tool_call_id": outcome.tool_call_id,
    }


async def test_user_memories_stay_with_their_user(db: Database, world: World) -> None:
    ada, bob = run_as(db, world), run_as(db, world, user_id=world.other_user_id)
    await ada.call("remember", {"content": "Ada's locker code is 4411"})
    await ada.call("remember", {"content": "The team locker room is on floor 2", "scope": "group"})

    mine = await ada.call("recall", {"query": "locker code"})
    assert mine.result[0]["content"] == "Ada's locker code is 4411"
    theirs = await bob.call("recall", {"query": "locker code"})
    assert [m["content"] for m in theirs.result] == ["The team locker room is on floor 2"]
    outside = run_as(db, world, user_id=world.other_user_id, group_id=None)
    assert (await outside.call("recall", {"query": "locker"})).result == []


async def test_group_memory_needs_a_group(db: Database, world: World) -> None:
    outcome = await run_as(db, world, group_id=None).call(
        "remember", {"content": "x", "scope": "group"}
    )
    assert (outcome.status, outcome.code) == ("error", "missing_context")
    assert outcome.error == 'this conversation has no group; use scope "user" or "agent"'


async def test_recall_limit_is_bounded(db: Database, world: World) -> None:
    outcome = await run_as(db, world).call("recall", {"query": "x", "limit": 500})
    assert outcome.code == "invalid_arguments"
    assert "field 'limit'" in (outcome.error or "")


async def test_recall_by_meaning_through_the_tools(db: Database, world: World) -> None:
    """With an embeddings endpoint attached to the database, the tools embed and recall by
    meaning; another user's memory stays theirs."""
    from runtime.embeddings import attach_embedder
    from runtime.settings import Settings
    from store.embeddings import use_embedder
    from tests.scale.fake_openai import app
    from tests.support.local_server import LocalServer

    with LocalServer(app) as endpoint:
        attach_embedder(db, Settings(memory_embeddings_url=endpoint.base_url))
        try:
            ada, bob = run_as(db, world), run_as(db, world, user_id=world.other_user_id)
            await ada.call("remember", {"content": "Ada drives an automobile"})
            await bob.call("remember", {"content": "Bob rides a vehicle to work"})
            found = await ada.call("recall", {"query": "car"})
        finally:
            use_embedder(db, None)
    assert [m["content"] for m in found.result] == ["Ada drives an automobile"]


async def test_query_syntax_from_the_model_is_only_words(db: Database, world: World) -> None:
    ada = run_as(db, world)
    await ada.call("remember", {"content": "The cat sleeps near the window"})
    for query in ['cat" OR *', "NEAR(cat window)", "-cat", "(cat", "cat:* & !dog"]:
        outcome = await ada.call("recall", {"query": query})
        assert outcome.ok, (query, outcome.error)
        assert [m["content"] for m in outcome.result] == ["The cat sleeps near the window"]
