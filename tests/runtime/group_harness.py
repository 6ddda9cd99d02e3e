"""A small world for group-conversation tests: people, agents, a room, a runtime on the real
database, bus and lock, and a scripted stand-in for the agent runner.

`ScriptedRunner` has the `run(request)` signature of the real `AgentRunner`: it streams each
scripted reply word by word through `request.emit`, can wait on an event (to be cancelled
mid-reply), raise, or delegate, and records every request it got.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from runtime.agent_turn import AgentRunner
from runtime.bus import EventBus, Subscription, create_bus
from runtime.conversation import AgentTurnRequest, ConversationRuntime, PostResult
from runtime.events import event
from runtime.locks import TurnLock, create_lock
from runtime.router import SpeakerRouter
from runtime.settings import Settings
from store.conversations import Conversations, NewParticipant
from store.db import Database
from store.ids import new_id
from store.messages import Messages
from store.models import Agent, ConversationMessage, ConversationParticipant, User


@dataclass
class Result:
    content: str
    status: str
    model: str
    input_tokens: int
    output_tokens: int
    error: str | None = None


@dataclass
class Say:
    """One scripted reply. `hold` is awaited after `hold_after` words (so a test can cancel
    the turn mid-reply); `error` is raised after the text streamed; `delegate` is (handle, task),
    called before the text, and its answer (or refusal) is recorded in `answers`."""

    text: str = ""
    hold: asyncio.Event | None = None
    hold_after: int = 1
    error: BaseException | None = None
    delegate: tuple[str, str] | None = None
    started: asyncio.Event = field(default_factory=asyncio.Event)
    holding: asyncio.Event = field(default_factory=asyncio.Event)

    async def pause(self) -> None:
        if self.hold is not None:
            self.holding.set()
            await self.hold.wait()


Script = Callable[[AgentTurnRequest], Say | str]


@dataclass
class ScriptedRunner:
    """Answers each agent from its script (a list used in order, or a function)."""

    scripts: dict[str, list[Say | str] | Script] = field(default_factory=dict)
    requests: list[AgentTurnRequest] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)

    def script(self, agent: Agent, *replies: Say | str) -> None:
        self.scripts[agent.id] = list(replies)

    def always(self, agent: Agent, reply: Script) -> None:
        self.scripts[agent.id] = reply

    def _next(self, request: AgentTurnRequest) -> Say:
        script = self.scripts.get(request.agent_id)
        if callable(script):
            reply = script(request)
        elif script:
            reply = script.pop(0)
        else:
            raise AssertionError(f"no scripted reply left for agent {request.agent_id}")
        return Say(reply) if isinstance(reply, str) else reply

    async def run(self, request: AgentTurnRequest) -> Result:
        self.requests.append(request)
        say = self._next(request)
        say.started.set()
        if say.delegate is not None:
            assert request.delegate is not None
            try:
                self.answers.append(await request.delegate(*say.delegate))
            except Exception as exc:
                self.answers.append(f"{type(exc).__name__}: {exc}")
        words = re.findall(r"\S+\s*", say.text)
        for index, word in enumerate(words):
            if index == say.hold_after:
                await say.pause()
            await request.emit(event("delta", request.conversation_id, text=word))
        if say.hold_after >= len(words):
            await say.pause()
        if say.error is not None:
            raise say.error
        return Result(say.text, "completed", "scripted:test", 10, len(words))


async def add_user(db: Database, name: str) -> User:
    async with db.session() as session:
        user = User(name=name, email=f"{name.lower()}-{new_id().lower()}@example.com")
        session.add(user)
    return user


async def add_agent(db: Database, handle: str, **fields: Any) -> Agent:
    fields.setdefault("name", handle.capitalize())
    fields.setdefault("description", f"{handle} helps")
    async with db.session() as session:
        agent = Agent(handle=handle, **fields)
        session.add(agent)
    return agent


async def add_room(
    db: Database,
    owner: User,
    *,
    users: Sequence[User] = (),
    agents: Sequence[Agent] = (),
    policy: dict[str, Any] | None = None,
) -> str:
    participants = [NewParticipant(user_id=u.id) for u in users]
    participants += [NewParticipant(agent_id=a.id) for a in agents]
    conversation = await Conversations(db).create(
        "Room", owner.id, policy=policy, participants=participants
    )
    return conversation.id


async def backends(redis_url: str | None) -> tuple[EventBus, TurnLock]:
    bus = create_bus(redis_url)
    await bus.start()
    return bus, create_lock(redis_url)


@dataclass
class Recorder:
    """Frames of one conversation, as a subscriber receives them."""

    subscription: Subscription
    frames: list[dict[str, Any]] = field(default_factory=list)

    async def until(
        self, done: Callable[[list[dict[str, Any]]], bool], limit: float = 10.0
    ) -> list[dict[str, Any]]:
        """Read frames until `done(frames)` holds (a generous timeout only guards hangs)."""
        async with asyncio.timeout(limit):
            while not done(self.frames):
                frame = await self.subscription.queue.get()
                assert frame is not None, "subscription closed or overflowed"
                self.frames.append(frame)
        return self.frames

    async def turn_ends(self, count: int) -> list[dict[str, Any]]:
        return await self.until(lambda fs: len(of_type(fs, "turn.end")) >= count)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return of_type(self.frames, kind)


def of_type(frames: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [f for f in frames if f["type"] == kind]


@asynccontextmanager
async def record(bus: EventBus, conversation_id: str) -> AsyncIterator[Recorder]:
    subscription = await bus.subscribe(conversation_id)
    try:
        yield Recorder(subscription)
    finally:
        await bus.unsubscribe(subscription)


@dataclass
class World:
    """A runtime on the test database and the run's bus and lock, answering from scripts."""

    db: Database
    runtime: ConversationRuntime
    runner: Any
    bus: EventBus
    lock: TurnLock

    async def post(self, conversation_id: str, user: User, text: str, **kwargs: Any) -> PostResult:
        return await self.runtime.post_user_message(conversation_id, user.id, text, **kwargs)

    async def idle(self, conversation_id: str) -> None:
        await self.runtime.wait_idle(conversation_id, timeout=20.0)

    async def transcript(self, conversation_id: str) -> list[ConversationMessage]:
        return await Messages(self.db).after(conversation_id, 0, 500)

    async def said(self, conversation_id: str) -> list[tuple[str | None, str, str | None]]:
        """(author name or None for system, content, status) of every stored message."""
        names = await self.author_names(conversation_id)
        return [
            (names.get(m.author_participant_id or ""), m.content, m.status)
            for m in await self.transcript(conversation_id)
        ]

    async def author_names(self, conversation_id: str) -> dict[str, str]:
        async with self.db.session() as session:
            rows = await session.execute(
                select(ConversationParticipant.id, User.name, Agent.handle)
                .outerjoin(User, User.id == ConversationParticipant.user_id)
                .outerjoin(Agent, Agent.id == ConversationParticipant.agent_id)
                .where(ConversationParticipant.conversation_id == conversation_id)
            )
            return {pid: (f"@{handle}" if handle else name) for pid, name, handle in rows}


@asynccontextmanager
async def open_world(
    db: Database,
    redis_url: str | None,
    *,
    runner: Any = None,
    settings: Settings | None = None,
    router: SpeakerRouter | None = None,
) -> AsyncIterator[World]:
    bus, lock = await backends(redis_url)
    settings = settings or fast_settings()
    runner = runner if runner is not None else ScriptedRunner()
    runtime = ConversationRuntime(db, settings, bus, lock, runner, router=router)
    await runtime.start()
    try:
        yield World(db, runtime, runner, bus, lock)
    finally:
        await runtime.close()
        await bus.close()
        await lock.close()


def fast_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"turn_timeout_seconds": 20.0, "lease_seconds": 5.0}
    values.update(overrides)
    return Settings(**values)


def real_runner(db: Database, settings: Settings) -> AgentRunner:
    """The production runner, with the built-in tools registered."""
    import tools.builtin  # noqa: F401  (registers remember and recall)
    from tools.registry import registry

    return AgentRunner(db, settings, registry)


async def grant(db: Database, agent: Agent, *names: str) -> None:
    from store.tools import Tools
    from tools.registry import registry

    tools = Tools(db)
    for row in await tools.sync(registry.get(name) for name in names):
        await tools.grant(agent.id, row.id)


def offline_settings(**overrides: Any) -> Settings:
    return fast_settings(
        default_model="offline:default", openai_api_key=None, openai_base_url=None, **overrides
    )
