"""The offline model without slash commands: plain requests delegate and use memory, `/help`
says what it does, tool results read as words, and it streams at the configured pace."""

from __future__ import annotations

import time
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from runtime.compiler import DelegateInfo, delegate_schema
from runtime.models import resolve_model
from runtime.offline import OfflineChatModel
from runtime.offline_intents import readable
from runtime.settings import Settings

ASSISTANT = SystemMessage("You are Assistant (@assistant), an AI agent.")
WRITER = SystemMessage("You are Writer (@writer), an AI agent.")
DELEGATE = delegate_schema(
    [
        DelegateInfo("a1", "researcher", "Researcher", "Finds facts and sources on a topic"),
        DelegateInfo("a2", "writer", "Writer", "Writes posts, emails and pages"),
    ]
)


def tool(name: str, **properties: Any) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": name,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": list(properties),
            },
        },
    }


MEMORY = [
    tool("remember", content={"type": "string"}, scope={"enum": ["user", "agent"]}),
    tool("recall", query={"type": "string"}),
]


async def ask(system: SystemMessage, text: str, tools: list[dict[str, Any]]) -> AIMessage:
    return await OfflineChatModel().bind_tools(tools).ainvoke([system, HumanMessage(text)])


@pytest.mark.parametrize(
    ("text", "handle"),
    [
        ("Ann: research the tea market in Kenya", "researcher"),
        ("Ann: @assistant please look into competitor pricing", "researcher"),
        ("Ann: could you find out who sells oolong", "researcher"),
        ("Ann: write a launch email for the new blend", "writer"),
        ("Ann: Draft a tagline for the spring campaign", "writer"),
    ],
)
async def test_research_and_writing_requests_go_to_the_delegate_that_fits(
    text: str, handle: str
) -> None:
    reply = await ask(ASSISTANT, text, [DELEGATE])
    [call] = reply.tool_calls
    task = text.split(": ", 1)[1].removeprefix("@assistant ")
    assert (call["name"], call["args"]) == ("delegate", {"agent": handle, "task": task})


async def test_the_agent_that_fits_does_the_work_itself() -> None:
    writer_delegates = delegate_schema([DelegateInfo("a1", "researcher", "Researcher", "facts")])
    wrote = await ask(WRITER, "Ann: write a tagline for the tea shop", [writer_delegates])
    assert wrote.tool_calls == [] and str(wrote.content).startswith("Writer (offline): ")
    researched = await ask(WRITER, "Ann: research tea shops nearby", [writer_delegates])
    assert researched.tool_calls[0]["args"]["agent"] == "researcher"


async def test_without_delegates_or_a_fitting_one_there_is_no_hand_off() -> None:
    alone = await ask(ASSISTANT, "Ann: research the tea market", [])
    assert alone.tool_calls == [] and "(offline)" in str(alone.content)
    unrelated = delegate_schema([DelegateInfo("a3", "chef", "Chef", "cooks dinners")])
    reply = await ask(ASSISTANT, "Ann: research the tea market", [unrelated])
    assert reply.tool_calls == []
    # "writing" said mid-sentence is not a request to write.
    chat = await ask(ASSISTANT, "Ann: I like writing letters", [DELEGATE])
    assert chat.tool_calls == []


@pytest.mark.parametrize(
    ("text", "name", "args"),
    [
        (
            "Ann: please remember that I take my tea black",
            "remember",
            {"content": "I take my tea black", "scope": "user"},
        ),
        (
            "Ann: note that the launch moved to May",
            "remember",
            {"content": "the launch moved to May", "scope": "user"},
        ),
        ("Ann: do you remember my tea order?", "recall", {"query": "my tea order"}),
        ("Ann: what did I tell you about the launch?", "recall", {"query": "the launch"}),
        ("Ann: what do you remember about tea?", "recall", {"query": "tea"}),
    ],
)
async def test_remember_and_recall_in_plain_words(
    text: str, name: str, args: dict[str, Any]
) -> None:
    reply = await ask(ASSISTANT, text, MEMORY)
    assert [(c["name"], c["args"]) for c in reply.tool_calls] == [(name, args)]


async def test_memory_requests_need_the_memory_tools() -> None:
    reply = await ask(ASSISTANT, "Ann: please remember that I take tea", [])
    assert reply.tool_calls == [] and "(offline)" in str(reply.content)


async def test_help_lists_what_it_understands_with_this_agents_delegates_and_tools() -> None:
    reply = await ask(ASSISTANT, "Ann: @assistant /help", [DELEGATE, *MEMORY])
    text = str(reply.content)
    assert reply.tool_calls == []
    assert text.startswith("**Assistant (offline)**")
    for expected in (
        "@researcher, @writer",
        "`research <topic>`",
        "`remember that <fact>`",
        "`recall <topic>`",
        "/tool <name>",
        "(recall, remember)",
        "`/help`",
    ):
        assert expected in text, expected
    bare = str((await ask(ASSISTANT, "Ann: /help", [])).content)
    assert "research <topic>" not in bare and "remember that" not in bare and "`/help`" in bare


async def test_slash_commands_still_win_over_plain_words() -> None:
    reply = await ask(ASSISTANT, "Ann: /delegate @writer research the history of tea", [DELEGATE])
    assert reply.tool_calls[0]["args"] == {"agent": "writer", "task": "research the history of tea"}


def test_tool_results_read_as_words() -> None:
    assert readable('{"remembered": "01X", "scope": "user"}') == "remembered: 01X, scope: user"
    memories = '[{"id": "1", "content": "takes tea black"}, {"id": "2", "content": "likes May"}]'
    assert readable(memories) == "takes tea black; likes May"
    assert readable("[]") == "nothing"
    assert readable('Scout said "go north"') == '“Scout said "go north"”'
    assert len(readable("word " * 500)) == 300


async def test_after_a_delegation_the_answer_is_quoted_without_escapes() -> None:
    messages = [
        ASSISTANT,
        HumanMessage("Ann: research tea"),
        AIMessage("", tool_calls=[{"name": "delegate", "args": {}, "id": "c1"}]),
        ToolMessage('Researcher (offline): I read "tea".', tool_call_id="c1", name="delegate"),
    ]
    reply = await OfflineChatModel().bind_tools([DELEGATE]).ainvoke(messages)
    assert str(reply.content) == (
        'Assistant (offline): delegate returned “Researcher (offline): I read "tea".”.'
    )


async def test_streams_at_the_configured_pace() -> None:
    settings = Settings(offline_stream_delay_ms=40, default_model="offline:default")
    model = resolve_model("offline:default", settings)
    assert isinstance(model, OfflineChatModel) and model.stream_delay_ms == 40
    started = time.monotonic()
    words = [
        c async for c in model.astream([ASSISTANT, HumanMessage("Ann: hello there")]) if c.content
    ]
    # At least one pause between each pair of words: the reading pace is really applied.
    assert time.monotonic() - started >= 0.04 * (len(words) - 1)
    assert Settings.model_fields["offline_stream_delay_ms"].default == 20.0
