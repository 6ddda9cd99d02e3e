"""Our side, in-process: a real `ConversationRuntime` on a fresh database, with bench agents
answering through the zero-latency scripted model.

The runtime is wired exactly as the server wires it (store, bus, lock, agent runner); only the
model is scripted. `product_missing()` says which piece is not built yet, so the baselines of a
scenario still run while our side waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event

from bench.baselines import REPLY
from bench.fixtures import Room, create_room, fresh_postgres, fresh_sqlite, is_postgres
from bench.harness import Config
from store.db import Database

MODEL_NAME = "bench"
TURN_TIMEOUT = 60.0
NEEDED = ("runtime.agent_turn", "runtime.conversation", "runtime.testing")


def product_missing(modules: tuple[str, ...] = NEEDED) -> str | None:
    """None when every module imports, else a note naming the first that does not."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            return f"not measured: {name} does not import yet ({exc})"
    return None


def scripted_model_name(reply: str = REPLY, name: str = MODEL_NAME) -> str:
    """Register a scripted model that always answers `reply`; returns the name agent rows use."""
    from runtime.testing import ScriptedChatModel, register_scripted

    return register_scripted(name, ScriptedChatModel(fallback=reply, label=name))


async def fresh_database(name: str, config: Config, *, postgres: bool = False) -> str:
    if postgres:
        if not is_postgres(config.database_url):
            raise ValueError("a PostgreSQL case needs --database-url")
        return await fresh_postgres(config.database_url)
    return await fresh_sqlite(name)


@dataclass
class ElevateRoom:
    """A database, a started runtime, and conversations with bench agents in them."""

    db: Database
    runtime: Any
    bus: Any
    lock: Any
    room: Room
    listeners: list[Listener] = field(default_factory=list)

    @classmethod
    async def create(
        cls,
        name: str,
        config: Config,
        *,
        agents: int = 1,
        policy: dict[str, Any] | None = None,
        postgres: bool = False,
        settings: dict[str, Any] | None = None,
        models: list[str | None] | None = None,
        handles: list[str] | None = None,
    ) -> ElevateRoom:
        from runtime.agent_turn import AgentRunner
        from runtime.bus import create_bus
        from runtime.conversation import ConversationRuntime
        from runtime.locks import create_lock
        from runtime.settings import Settings
        from tools.registry import registry

        url = await fresh_database(name, config, postgres=postgres)
        runtime_settings = Settings(database_url=url, redis_url=None, **(settings or {}))
        db = Database(url)
        model = scripted_model_name()
        room = await create_room(
            db, agents=agents, model=model, models=models, handles=handles, policy=policy
        )
        bus, lock = create_bus(None, runtime_settings.send_queue_size), create_lock(None)
        runner = AgentRunner(db, runtime_settings, registry)
        runtime = ConversationRuntime(db, runtime_settings, bus, lock, runner)
        await runtime.start()
        elevate = cls(db, runtime, bus, lock, room)
        await elevate.listen(room)
        return elevate

    async def listen(self, room: Room) -> None:
        """Subscribe a consumer to the room's events, as a websocket subscriber would be."""
        self.listeners.append(await Listener.start(self.bus, room.conversation_id))

    async def another_room(self, **kwargs: Any) -> Room:
        """One more conversation in the same database, with its own user and agents."""
        room = await create_room(self.db, model=f"scripted:{MODEL_NAME}", **kwargs)
        await self.listen(room)
        return room

    async def turn(self, text: str, room: Room | None = None) -> int:
        """Post a human message and wait until every agent turn it triggered has ended and the
        subscriber has received every event; returns how many turns ended."""
        room = room or self.room
        listener = next(x for x in self.listeners if x.channel == room.conversation_id)
        ended = listener.turns_ended
        await self.runtime.post_user_message(room.conversation_id, room.user_id, text)
        await self.runtime.wait_idle(room.conversation_id, timeout=TURN_TIMEOUT)
        await listener.drained()
        if listener.turns_ended == ended:
            raise AssertionError(f"no turn ended in {room.conversation_id}: {listener.last}")
        return listener.turns_ended - ended

    async def count_sql(self, turns: int, text: str) -> tuple[float, float]:
        """Transactions and SQL statements per turn, over `turns` more turns (untimed)."""
        counter = SqlCounter(self.db)
        try:
            for _ in range(turns):
                await self.turn(text)
        finally:
            counter.stop()
        return counter.transactions / turns, counter.statements / turns

    async def close(self) -> None:
        for listener in self.listeners:
            await listener.stop(self.bus)
        await self.runtime.close()
        await self.bus.close()
        await self.lock.close()
        await self.db.close()


class Listener:
    """Consumes one conversation's events from the bus, counting the turns that ended."""

    def __init__(self, channel: str, subscription: Any) -> None:
        self.channel = channel
        self.subscription = subscription
        self.turns_ended = 0
        self.last: dict[str, Any] | None = None
        self.task = asyncio.create_task(self._consume())

    @classmethod
    async def start(cls, bus: Any, channel: str) -> Listener:
        return cls(channel, await bus.subscribe(channel))

    async def _consume(self) -> None:
        async for frame in self.subscription:
            self.last = frame
            if frame.get("type") == "turn.end":
                if frame.get("status") != "completed":
                    raise AssertionError(f"a bench turn did not complete: {frame}")
                self.turns_ended += 1

    async def drained(self) -> None:
        """Wait until the consumer has taken everything published so far."""
        while not self.subscription.queue.empty():
            if self.task.done():
                self.task.result()
            await asyncio.sleep(0)
        if self.subscription.overflowed:
            raise AssertionError(f"the bench subscriber of {self.channel} overflowed")

    async def stop(self, bus: Any) -> None:
        await bus.unsubscribe(self.subscription)
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


class SqlCounter:
    """Counts transactions and statements on a database's engine while it is attached."""

    def __init__(self, db: Database) -> None:
        self.engine = db.engine.sync_engine
        self.transactions = 0
        self.statements = 0
        event.listen(self.engine, "begin", self._begin)
        event.listen(self.engine, "before_cursor_execute", self._statement)

    def _begin(self, _connection: Any) -> None:
        self.transactions += 1

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # The SQLite `BEGIN IMMEDIATE` is how a transaction starts, counted above.
        if not statement.startswith("BEGIN"):
            self.statements += 1

    def stop(self) -> None:
        event.remove(self.engine, "begin", self._begin)
        event.remove(self.engine, "before_cursor_execute", self._statement)
