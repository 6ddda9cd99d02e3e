"""The deterministic offline model: answers with no network so a first run works anywhere.

Every behaviour is a pure function of the messages it is given (see `OfflineChatModel`), so
tests and demos get the same reply every time, streamed word by word like a real model.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool

from runtime.offline_intents import help_text, natural_request, readable
from runtime.regenerate import parse_notice

SELECT_PREFIX = "Select the next speaker"
WORD = re.compile(r"\S+\s*")
CANDIDATE = re.compile(r"^\s*[-*]?\s*@([\w.-]+)\s*[:—–-]\s*(.*)$")
MENTION_REQUEST = re.compile(r"\b(?:ask|tell)\s+@([\w.-]+)", re.IGNORECASE)
NAME_PREFIX = re.compile(r"^[^:\n]{1,80}:\s+")
LEADING_MENTIONS = re.compile(r"^(?:@[\w.-]+[\s,:]*)+")
# The first line of an attachment's part (runtime/attachments.py): `[attachment: name (details)]`.
ATTACHMENT_HEADER = re.compile(r"^\[attachment: (.+) \(([^()\n]*)\)\]")


def count_words(text: str) -> int:
    return len(text.split())


def text_of(message: BaseMessage) -> str:
    return str(message.text)


def usage_for(messages: Sequence[BaseMessage], reply: str) -> UsageMetadata:
    """Token counts by words: deterministic stand-ins for a tokenizer."""
    prompt = sum(count_words(text_of(m)) for m in messages)
    output = count_words(reply)
    return UsageMetadata(input_tokens=prompt, output_tokens=output, total_tokens=prompt + output)


def stream_chunks(message: AIMessage) -> Iterator[AIMessageChunk]:
    """A finished reply as a model would stream it: word by word, then one closing chunk
    carrying the tool calls and the usage."""
    text = message.content if isinstance(message.content, str) else text_of(message)
    for word in WORD.findall(text):
        yield AIMessageChunk(content=word, id=message.id)
    tool_chunks = [
        {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"], "index": i}
        for i, c in enumerate(message.tool_calls)
    ]
    yield AIMessageChunk(
        content="",
        id=message.id,
        tool_call_chunks=tool_chunks,
        usage_metadata=message.usage_metadata,
        response_metadata=message.response_metadata,
        chunk_position="last",
    )


class StreamingFromReply(BaseChatModel):
    """Base of the offline and scripted models: subclasses build a whole reply with `reply`,
    and this class streams it in chunks (sync and async)."""

    def reply(self, messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage:
        raise NotImplementedError

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: str | None = None, **kwargs: Any
    ) -> Runnable[Any, AIMessage]:
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = self.reply(messages, kwargs.get("tools") or [])
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for chunk in stream_chunks(self.reply(messages, kwargs.get("tools") or [])):
            if run_manager and chunk.content:
                run_manager.on_llm_new_token(
                    str(chunk.content), chunk=ChatGenerationChunk(message=chunk)
                )
            yield ChatGenerationChunk(message=chunk)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in stream_chunks(self.reply(messages, kwargs.get("tools") or [])):
            generation = ChatGenerationChunk(message=chunk)
            if run_manager and chunk.content:
                await run_manager.on_llm_new_token(str(chunk.content), chunk=generation)
            yield generation


class OfflineChatModel(StreamingFromReply):
    """A deterministic chat model that needs no network; its replies say "(offline)".

    What it does, looking at the messages it is given:

    - A system message starting with "Select the next speaker" (the speaker selector's prompt,
      listing candidates as lines `@handle: description`): it answers `@handle` of the
      candidate whose description (and handle) shares the most words with the last message
      (the last human message, else the rest of the prompt); ties go to the first listed.
    - After tool results (the last message is a tool message): one sentence quoting each result,
      e.g. `Assistant (offline): recall returned "..."`.
    - The last human message (its `Name: ` prefix and leading @mentions ignored) asks for a tool,
      when that tool is bound:
        `/tool <name> <json-args>` calls `<name>` with those arguments;
        `/delegate @handle <task>` calls `delegate` with `{"agent": handle, "task": task}`;
        `remember <fact>` calls `remember` with `{"content": fact}`;
        `recall <query>` or "what do you remember" calls `recall` with `{"query": ...}`;
        natural requests too (see `runtime/offline_intents.py`): "research ..." or
        "write/draft ..." delegate to the delegate that fits, "do you remember ..." recalls.
    - `/help`: a list of what it understands, the agent's delegates and tools included.
    - Otherwise: `<Agent name> (offline): I read your message about "<first words>".`, where the
      name comes from the instructions' `You are <name> (@handle)` line; when the message says
      `ask @x ...` or `tell @x ...` the reply hands over to `@x` so mention routing can follow.
      When that message has attachments (`runtime/attachments.py`), the reply adds
      `I see 2 attached files: a.png (image, 3.4 KB); b.pdf (PDF, 2 pages, 1.2 KB).`

    Usage is counted in words. Replies stream word by word, `stream_delay_ms` apart (the
    `offline_stream_delay_ms` setting, so people can read along); tool calls come last.
    """

    variant: str = "default"
    stream_delay_ms: float = 0.0

    @property
    def _llm_type(self) -> str:
        return "elevate-offline"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"variant": self.variant}

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for chunk in super()._stream(messages, stop, run_manager, **kwargs):
            yield chunk
            if self.stream_delay_ms > 0 and chunk.message.content:
                time.sleep(self.stream_delay_ms / 1000)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        async for chunk in super()._astream(messages, stop, run_manager, **kwargs):
            yield chunk
            if self.stream_delay_ms > 0 and chunk.message.content:
                await asyncio.sleep(self.stream_delay_ms / 1000)

    def reply(self, messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage:
        text, calls = self._decide(messages, {_tool_name(t): t for t in tools})
        return AIMessage(
            content=text,
            tool_calls=[
                {"name": name, "args": args, "id": f"offline-call-{len(messages)}-{i}"}
                for i, (name, args) in enumerate(calls)
            ],
            usage_metadata=usage_for(messages, text),
            response_metadata={"model_name": f"offline:{self.variant}", "offline": True},
        )

    def _decide(
        self, messages: list[BaseMessage], tools: dict[str, dict[str, Any]]
    ) -> tuple[str, list[tuple[str, dict[str, Any]]]]:
        system = "\n".join(text_of(m) for m in messages if isinstance(m, SystemMessage))
        name = _agent_name(system)
        if system.lstrip().startswith(SELECT_PREFIX):
            return select_speaker(system, _last_human(messages)), []
        if messages and isinstance(messages[-1], ToolMessage):
            return _after_tools(name, messages), []
        request = _strip_address(_last_human(messages) or "")
        if request.strip().lower() == "/help":
            return help_text(name, tools), []
        # A regenerate asks again for the message it quotes: answer that, and say which take.
        again = parse_notice(_last_human(messages) or "")
        if again is not None:
            request = _strip_address(again[0])
        call = _tool_request(request, tools)
        if call is None:
            call = natural_request(request, tools, _agent_handle(system))
        if call is not None:
            return "", [call]
        if again is not None:
            return f"{_answer(name, request)} (version {again[1]})" + _attachments_seen(
                messages
            ), []
        return _answer(name, request) + _attachments_seen(messages), []


def _tool_name(tool: dict[str, Any]) -> str:
    return tool.get("function", tool).get("name", "")


def _agent_name(system: str) -> str:
    found = re.search(r"You are (.+?) \(@", system)
    return found.group(1) if found else "Assistant"


def _agent_handle(system: str) -> str | None:
    found = re.search(r"You are .+? \(@([\w.-]+)\)", system)
    return found.group(1) if found else None


def _last_human(messages: list[BaseMessage]) -> str | None:
    for message in reversed(messages):
        if isinstance(message, HumanMessage):
            return _own_text(message)
    return None


def _own_text(message: BaseMessage) -> str:
    """The message's own words: with attachments (a content list), only its first text part."""
    if isinstance(message.content, list):
        first = next((p for p in message.content if isinstance(p, dict) and "text" in p), None)
        return str(first["text"]) if first is not None else ""
    return text_of(message)


def _attachments_seen(messages: list[BaseMessage]) -> str:
    """` I see 2 attached files: photo.png (image, 3.4 KB); notes.pdf (PDF, 2 pages, 1.2 KB).`
    for the attachments of the last human message (headers from `runtime.attachments`)."""
    last = next((m for m in reversed(messages) if isinstance(m, HumanMessage)), None)
    if last is None or not isinstance(last.content, list):
        return ""
    seen = []
    for part in last.content[1:]:
        if isinstance(part, dict) and part.get("type") == "text":
            found = ATTACHMENT_HEADER.match(str(part.get("text", "")))
            if found:
                seen.append(f"{found.group(1)} ({found.group(2)})")
    if not seen:
        return ""
    files = "an attached file" if len(seen) == 1 else f"{len(seen)} attached files"
    return f" I see {files}: " + "; ".join(seen) + "."


def _strip_address(text: str) -> str:
    """The request itself: without the `Author: ` prefix history adds, or leading @mentions."""
    text = NAME_PREFIX.sub("", text.strip(), count=1)
    return LEADING_MENTIONS.sub("", text).strip()


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2}


def select_speaker(prompt: str, last_message: str | None) -> str:
    """The `@handle` whose description best overlaps the last message (ties: first listed)."""
    candidates: list[tuple[str, str]] = []
    rest: list[str] = []
    for line in prompt.splitlines():
        found = CANDIDATE.match(line)
        if found:
            candidates.append((found.group(1), found.group(2)))
        elif not line.startswith(SELECT_PREFIX):
            rest.append(line)
    if not candidates:
        return "(offline): no candidates to choose from"
    wanted = _words(last_message if last_message is not None else "\n".join(rest))
    best = max(
        enumerate(candidates),
        key=lambda item: (len(wanted & _words(f"{item[1][0]} {item[1][1]}")), -item[0]),
    )
    return f"@{best[1][0]}"


def _after_tools(name: str, messages: list[BaseMessage]) -> str:
    results: list[ToolMessage] = []
    for message in reversed(messages):
        if not isinstance(message, ToolMessage):
            break
        results.append(message)
    parts = [f"{m.name or 'the tool'} returned {readable(text_of(m))}" for m in reversed(results)]
    return f"{name} (offline): " + "; ".join(parts) + "."


def _tool_request(
    request: str, tools: dict[str, dict[str, Any]]
) -> tuple[str, dict[str, Any]] | None:
    for line in request.splitlines():
        line = line.strip()
        call = _command(line)
        if call is not None and call[0] in tools:
            return call[0], _with_required(call[1], tools[call[0]])
    return None


def _command(line: str) -> tuple[str, dict[str, Any]] | None:
    if found := re.match(r"^/tool\s+([\w.-]+)\s*(.*)$", line):
        try:
            args = json.loads(found.group(2) or "{}")
        except json.JSONDecodeError:
            args = {"input": found.group(2)}
        return found.group(1), args if isinstance(args, dict) else {"input": args}
    if found := re.match(r"^/delegate\s+@([\w.-]+)\s+(.+)$", line):
        return "delegate", {"agent": found.group(1), "task": found.group(2).strip()}
    if found := re.match(r"^remember\s+(?:that\s+)?(.+)$", line, re.IGNORECASE):
        return "remember", {"content": found.group(1).strip()}
    if re.search(r"\bwhat do you remember\b", line, re.IGNORECASE):
        about = re.search(r"remember\s+about\s+(.+?)\??$", line, re.IGNORECASE)
        return "recall", {"query": about.group(1) if about else line.rstrip("?")}
    if found := re.match(r"^recall\s+(.+)$", line, re.IGNORECASE):
        return "recall", {"query": found.group(1).strip()}
    return None


def _with_required(args: dict[str, Any], tool: dict[str, Any]) -> dict[str, Any]:
    """Fill required enum parameters the command did not give with their first allowed value."""
    schema = tool.get("function", tool).get("parameters", {})
    properties = schema.get("properties", {})
    for key in schema.get("required", []):
        allowed = properties.get(key, {}).get("enum")
        if key not in args and allowed:
            args[key] = allowed[0]
    return args


def _answer(name: str, request: str) -> str:
    # Quoted mentions would hand the conversation on by accident; only "ask @x" should.
    words = request.replace("@", "").split()
    about = " ".join(words[:8]) + ("..." if len(words) > 8 else "")
    reply = (
        f'{name} (offline): I read your message about "{about}".'
        if words
        else (f"{name} (offline): Hello! I am running offline, without a language model.")
    )
    handed = MENTION_REQUEST.search(request)
    if handed:
        reply += f" @{handed.group(1)}, over to you."
    return reply


# Playbook drafts ------------------------------------------------------------------------

OFFLINE_DRAFT_NOTE = "(offline draft: no language model is configured; built from your Foundation)"


def playbook_draft(
    title: str,
    output_type: str,
    snapshot: dict[str, Any],
    output_fields: Sequence[str] | None = None,
) -> Any:
    """A deterministic first draft of a playbook prompt's output, built only from the
    Foundation values it was given (`snapshot`, by field path), so a student without a model
    still gets something to edit. `List` gives `{"items": [...]}`, `JSON` gives
    `{"items": [{field: ...}]}`, every other type a text; each says it is an offline draft."""
    facts = _draft_facts(snapshot)
    if output_type == "List":
        return {"note": OFFLINE_DRAFT_NOTE, "items": _draft_lines(facts)}
    if output_type == "JSON":
        fields = list(output_fields or ["idea"])
        rows = []
        for index, line in enumerate(_draft_lines(facts)[:5]):
            row = {name: _draft_cell(name, index, line, facts) for name in fields}
            rows.append(row)
        return {"note": OFFLINE_DRAFT_NOTE, "items": rows}
    return _draft_text(title, facts)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        items = []
        for item in value:
            if isinstance(item, dict):
                items.append(f"{item.get('name', '')} ({item.get('weakness', '')})".strip())
            elif str(item).strip():
                items.append(str(item).strip())
        return items
    text = str(value).strip()
    return [text] if text else []


def _draft_facts(snapshot: dict[str, Any]) -> dict[str, list[str]]:
    """Snapshot values as lists of phrases, keyed by the field's last path part."""
    return {path.rsplit(".", 1)[-1]: _as_list(value) for path, value in snapshot.items()}


def _first(facts: dict[str, list[str]], *names: str, default: str = "") -> str:
    for name in names:
        if facts.get(name):
            return facts[name][0]
    return default


def _draft_lines(facts: dict[str, list[str]]) -> list[str]:
    """One line per pain, fear, goal or need, tied to the mechanism or promise."""
    answer = _first(
        facts, "unique_mechanism", "value_proposition", "core_offers", default="our approach"
    )
    business = _first(facts, "business_name", default="Our offer")
    lines: list[str] = []
    for pain in facts.get("pains", []):
        lines.append(f'Still putting up with "{pain.rstrip(".")}"?')
        lines.append(f'"{pain.rstrip(".")}"? Here is the fix: {answer}.')
    for fear in facts.get("fears", []):
        lines.append(f"Worried that {fear.rstrip('.').lower()}? Here is why you need not be.")
    for goal in facts.get("goals", []) + facts.get("dreams", []):
        lines.append(f"How to {goal.rstrip('.').lower()}, without the usual trade-offs.")
    for need in facts.get("needs", []):
        lines.append(f"What you need before you decide: {need.rstrip('.').lower()}.")
    for competitor in facts.get("competitors", []):
        lines.append(f"Compared with {competitor}: what changes when you switch.")
    lines.append(f"{business}: {answer}.")
    return lines


def _draft_cell(name: str, index: int, line: str, facts: dict[str, list[str]]) -> str:
    if any(word in name for word in ("why", "proof", "bridge", "decision")):
        return "Because it speaks to: " + line
    if "day" in name:
        return str(1 + index * 2)
    return line


def _draft_text(title: str, facts: dict[str, list[str]]) -> str:
    voice = ", ".join(facts.get("brand_voice_adjectives", [])) or "clear, friendly"
    parts = [OFFLINE_DRAFT_NOTE, "", f"{title}", ""]
    lines = _draft_lines(facts)
    parts.append(lines[0])
    parts += [f"- {line}" for line in lines[1:6]]
    offer = _first(facts, "core_offers", "value_proposition")
    if offer:
        parts += ["", f"Offer: {offer}."]
    parts += ["", f"Voice to keep: {voice}. Rewrite each line in your own words before using it."]
    return "\n".join(parts)
