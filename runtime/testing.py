"""Shared fakes for tests: a scripted chat model, a slowed offline model, an event recorder.

`ScriptedChatModel` plays a list of replies (text, tool calls, errors, pauses) and records every
prompt it received, so a test can assert on what the agent was told. Register it under a
`scripted:<name>` model name with `register_scripted` and give an agent that name.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGenerationChunk
from pydantic import Field

from runtime.models import register_provider, unregister_provider
from runtime.offline import (
    OfflineChatModel,
    StreamingFromReply,
    stream_chunks,
    text_of,
    usage_for,
)
from runtime.settings import Settings


@dataclass
class Reply:
    """One scripted model answer.

    `tool_calls` are `(name, args)` pairs or `{"name", "args", "id"}` dicts. `error` is raised
    after `text` has streamed (a model failing mid-answer). `hold`, when given, is awaited after
    `hold_after` words have streamed: a test can cancel a turn while it is "generating".
    """

    text: str = ""
    tool_calls: Sequence[tuple[str, dict[str, Any]] | dict[str, Any]] = ()
    error: BaseException | None = None
    hold: asyncio.Event | None = None
    hold_after: int = 1
    usage: tuple[int, int] | None = None


ScriptItem = str | Reply | AIMessage | BaseException


@dataclass
class _Script:
    replies: list[ScriptItem]
    position: int = 0
    received: list[list[BaseMessage]] = field(default_factory=list)
    tools_seen: list[list[str]] = field(default_factory=list)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))


class ScriptedChatModel(StreamingFromReply):
    """A chat model that answers from a script, in order, and remembers what it was asked.

    When the script runs out it answers `fallback` if set, otherwise it raises (a test that
    expected fewer model calls fails loudly). `bind_tools` keeps the same script.
    """

    replies: list[Any] = Field(default_factory=list)
    fallback: str | None = None
    label: str = "scripted"
    script: Any = None

    def model_post_init(self, context: Any) -> None:
        super().model_post_init(context)
        if self.script is None:
            self.script = _Script(list(self.replies))

    @property
    def _llm_type(self) -> str:
        return "elevate-scripted"

    @property
    def received(self) -> list[list[BaseMessage]]:
        """Every prompt (list of messages) the model was called with, in order."""
        return self.script.received

    @property
    def tools_seen(self) -> list[list[str]]:
        """The names of the tools bound at each call."""
        return self.script.tools_seen

    @property
    def calls(self) -> int:
        return len(self.script.received)

    def add(self, *replies: ScriptItem) -> None:
        """Append more replies to the script."""
        self.script.replies.extend(replies)

    def last_prompt_text(self) -> str:
        """The text of every message of the last prompt, joined: handy for `in` assertions."""
        return "\n".join(text_of(m) for m in self.received[-1])

    def _next(self, messages: list[BaseMessage], tools: list[dict[str, Any]]) -> Reply:
        script = self.script
        script.received.append(list(messages))
        script.tools_seen.append([t.get("function", t).get("name", "") for t in tools])
        if script.position >= len(script.replies):
            if self.fallback is None:
                raise RuntimeError(
                    f"ScriptedChatModel {self.label!r} has no reply left for call "
                    f"#{len(script.received)}"
                )
            return Reply(self.fallback)
        item = script.replies[script.position]
        script.position += 1
        if isinstance(item, str):
            return Reply(item)
        if isinstance(item, BaseException):
            return Reply(error=item)
        if isinstance(item, AIMessage):
            calls = [dict(c) for c in item.tool_calls]
            return Reply(text_of(item), tool_calls=calls)
        return item

    def _message(self, reply: Reply, messages: list[BaseMessage]) -> AIMessage:
        calls = []
        for call in reply.tool_calls:
            name, args, call_id = (
                (call["name"], call.get("args", {}), call.get("id"))
                if isinstance(call, dict)
                else (call[0], call[1], None)
            )
            calls.append(
                {"name": name, "args": args, "id": call_id or f"call-{next(self.script.ids)}"}
            )
        usage = usage_for(messages, reply.text)
        if reply.usage is not None:
            usage = UsageMetadata(
                input_tokens=reply.usage[0],
                output_tokens=reply.usage[1],
                total_tokens=sum(reply.usage),
            )
        return AIMessage(
            content=reply.text,
            tool_calls=calls,
            usage_metadata=usage,
            response_metadata={"model_name": f"scripted:{self.label}"},
        )

    def reply(self, messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage:
        reply = self._next(messages, tools)
        if reply.error is not None:
            raise reply.error
        return self._message(reply, messages)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        reply = self._next(messages, kwargs.get("tools") or [])
        for chunk in stream_chunks(self._message(reply, messages)):
            if reply.error is not None and not chunk.content:
                raise reply.error
            yield ChatGenerationChunk(message=chunk)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        reply = self._next(messages, kwargs.get("tools") or [])
        streamed = 0
        for chunk in stream_chunks(self._message(reply, messages)):
            if reply.error is not None and not chunk.content:
                raise reply.error
            if reply.hold is not None and streamed == reply.hold_after:
                await reply.hold.wait()
            if chunk.content:
                streamed += 1
            generation = ChatGenerationChunk(message=chunk)
            if run_manager and chunk.content:
                await run_manager.on_llm_new_token(str(chunk.content), chunk=generation)
            yield generation


_scripted: dict[str, ScriptedChatModel] = {}


def _scripted_factory(name: str, settings: Settings) -> ScriptedChatModel:
    try:
        return _scripted[name]
    except KeyError:
        raise LookupError(
            f"no scripted model named {name!r}; register it with register_scripted()"
        ) from None


def register_scripted(name: str, model: ScriptedChatModel | None = None, **kwargs: Any) -> str:
    """Make `scripted:<name>` resolve to `model` (built from `kwargs` if not given); returns
    the model name to put on an agent row."""
    _scripted[name] = model if model is not None else ScriptedChatModel(label=name, **kwargs)
    register_provider("scripted", _scripted_factory)
    return f"scripted:{name}"


def scripted(name: str, *replies: ScriptItem, fallback: str | None = None) -> ScriptedChatModel:
    """A new scripted model registered as `scripted:<name>`."""
    model = ScriptedChatModel(replies=list(replies), fallback=fallback, label=name)
    register_scripted(name, model)
    return model


def clear_scripted() -> None:
    """Forget every scripted model (and the provider)."""
    _scripted.clear()
    unregister_provider("scripted")


SLOW_OFFLINE_PROVIDER = "slowoffline"


class SlowOfflineModel(OfflineChatModel):
    """The offline model with a pause after each streamed chunk, like a model over a network,
    so tests (and demos) can watch a turn stream, join it late or cancel it."""

    delay: float = 0.06

    async def _astream(
        self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> AsyncIterator[ChatGenerationChunk]:
        async for chunk in super()._astream(messages, stop, run_manager, **kwargs):
            yield chunk
            await asyncio.sleep(self.delay)


def _slow_offline_factory(model: str, settings: Settings) -> SlowOfflineModel:
    """`slowoffline:<ms>` pauses that many milliseconds per chunk (60 when not a number)."""
    return SlowOfflineModel(name=model, delay=int(model) / 1000 if model.isdigit() else 0.06)


def register_slow_offline() -> str:
    """Make `slowoffline:<ms>` model names resolve; returns the provider prefix."""
    register_provider(SLOW_OFFLINE_PROVIDER, _slow_offline_factory)
    return SLOW_OFFLINE_PROVIDER


class EventRecorder:
    """An `emit` callback that keeps every frame, for assertions on order and content."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self._changed = asyncio.Event()

    async def __call__(self, frame: dict[str, Any]) -> None:
        self.frames.append(frame)
        self._changed.set()

    async def wait_for(self, kind: str, count: int = 1) -> None:
        """Wait until `count` frames of type `kind` have arrived (no sleeping, no timing)."""
        while len(self.of_type(kind)) < count:
            self._changed.clear()
            await self._changed.wait()

    def types(self) -> list[str]:
        return [f["type"] for f in self.frames]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == kind]

    def text(self, turn_id: str | None = None) -> str:
        """The `delta` texts (of one turn, if given) joined in order."""
        return "".join(
            f["text"]
            for f in self.frames
            if f["type"] == "delta" and (turn_id is None or f["turn_id"] == turn_id)
        )


def tool_results(messages: Sequence[BaseMessage]) -> list[ToolMessage]:
    """The tool messages of a prompt, for assertions on what went back to the model."""
    return [m for m in messages if isinstance(m, ToolMessage)]
