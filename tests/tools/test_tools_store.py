"""The tools table mirrors the registry; tool-call rows record each call and its decision."""

from __future__ import annotations

import pytest

from store.db import Database
from store.errors import Conflict, InvalidValue, NotFound
from store.tools import Tools
from tests.tools.conftest import World
from tools.registry import ToolRegistry


async def test_sync_upserts_by_name(db: Database) -> None:
    tools = ToolRegistry()

    @tools.tool
    def ping(host: str) -> str:
        """Ping a host."""
        return host

    store = Tools(db)
    [first] = await store.sync(tools)
    assert (first.name, first.description) == ("ping", "Ping a host.")
    assert first.parameters["required"] == ["host"]

    tools.register(ping, name="ping", description="Ping a host, politely.")
    [again] = await store.sync(tools)
    assert again.id == first.id
    assert (await store.get_by_name("ping")).description == "Ping a host, politely."
    assert [t.name for t in await store.list()] == ["ping"]
    assert (await store.get(first.id)).name == "ping"
    with pytest.raises(NotFound, match="name='pong'"):
        await store.get_by_name("pong")


async def test_call_rows_and_decisions(db: Database, world: World) -> None:
    store = Tools(db)
    row = await store.start_call(
        "ping",
        status="pending_approval",
        arguments={"host": "a"},
        call_id="c1",
        turn_id=world.turn_id,
        conversation_id=world.conversation_id,
        agent_id=world.agent_id,
    )
    assert await store.call_status(row.id) == "pending_approval"
    open_calls = await store.calls_for_conversation(
        world.conversation_id, status="pending_approval"
    )
    assert [c.id for c in open_calls] == [row.id]

    decided = await store.set_decision(row.id, True, world.user_id)
    assert (decided.status, decided.decided_by) == ("approved", world.user_id)
    assert decided.decided_at is not None
    with pytest.raises(Conflict, match="is approved, not waiting"):
        await store.set_decision(row.id, False, world.user_id)
    assert not await store.expire_approval(row.id, "too late")

    done = await store.finish_call(row.id, status="ok", result={"up": True}, duration_ms=1.5)
    assert (done.status, done.result, done.duration_ms) == ("ok", {"up": True}, 1.5)
    with pytest.raises(NotFound):
        await store.set_decision("missing", True, None)


async def test_unknown_status_is_refused(db: Database) -> None:
    with pytest.raises(InvalidValue, match=r"tool_calls\.status"):
        await Tools(db).start_call("ping", status="running")
