"""The offline model's documented behaviours: deterministic, streamed, tool-calling."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from runtime.offline import OfflineChatModel

SYSTEM = SystemMessage("You are Researcher (@researcher), an AI agent.")


def tool(name: str, **properties: Any) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": name,
            "parameters": {
                "type": "object",
                "properties": properties or {"query": {"type": "string"}},
                "required": list(properties),
            },
        },
    }


async def test_streams_word_by_word_with_usage() -> None:
    model = OfflineChatModel()
    chunks = [c async for c in model.astream([SYSTEM, HumanMessage("Ann: tell me about markets")])]
    text = "".join(str(c.content) for c in chunks)
    assert text == 'Researcher (offline): I read your message about "tell me about markets".'
    assert len([c for c in chunks if c.content]) == len(text.split())
    assert chunks[-1].usage_metadata == {
        "input_tokens": 12,
        "output_tokens": len(text.split()),
        "total_tokens": 12 + len(text.split()),
    }


async def test_same_input_same_reply() -> None:
    messages = [SYSTEM, HumanMessage("Bob: what should we build next quarter and why?")]
    first = await OfflineChatModel().ainvoke(messages)
    second = await OfflineChatModel().ainvoke(messages)
    assert first.content == second.content
    assert first.response_metadata["offline"] is True


async def test_ask_someone_hands_over_with_a_mention() -> None:
    reply = await OfflineChatModel().ainvoke(
        [SYSTEM, HumanMessage("Ann: @researcher ask @writer to draft the intro")]
    )
    assert "@writer, over to you" in str(reply.content)
    assert str(reply.content).count("@") == 1


async def test_tool_command_calls_a_bound_tool_only() -> None:
    model = OfflineChatModel()
    message = [SYSTEM, HumanMessage('Ann: /tool lookup {"query": "tea"}')]
    bound = await model.bind_tools([tool("lookup")]).ainvoke(message)
    assert [(c["name"], c["args"]) for c in bound.tool_calls] == [("lookup", {"query": "tea"})]
    unbound = await model.ainvoke(message)
    assert unbound.tool_calls == [] and "(offline)" in str(unbound.content)


async def test_remember_and_recall_phrases() -> None:
    tools = [
        tool("remember", content={"type": "string"}, scope={"enum": ["user", "agent"]}),
        tool("recall", query={"type": "string"}),
    ]
    model = OfflineChatModel().bind_tools(tools)
    remembered = await model.ainvoke([SYSTEM, HumanMessage("Ann: remember that I take tea")])
    assert remembered.tool_calls[0]["args"] == {"content": "I take tea", "scope": "user"}
    recalled = await model.ainvoke([SYSTEM, HumanMessage("Ann: what do you remember about tea?")])
    assert recalled.tool_calls[0]["name"] == "recall"
    assert recalled.tool_calls[0]["args"] == {"query": "tea"}
    plain = await model.ainvoke([SYSTEM, HumanMessage("Ann: recall my drink")])
    assert plain.tool_calls[0]["args"] == {"query": "my drink"}


async def test_delegate_command() -> None:
    delegate = tool("delegate", agent={"type": "string"}, task={"type": "string"})
    reply = (
        await OfflineChatModel()
        .bind_tools([delegate])
        .ainvoke([SYSTEM, HumanMessage("Ann: /delegate @writer draft a tagline")])
    )
    assert reply.tool_calls[0]["args"] == {"agent": "writer", "task": "draft a tagline"}


async def test_after_tool_results_it_says_them_in_words_not_escaped_json() -> None:
    messages = [
        SYSTEM,
        HumanMessage("Ann: remember that I take tea"),
        AIMessage("", tool_calls=[{"name": "remember", "args": {}, "id": "c1"}]),
        ToolMessage('{"remembered": "01X"}', tool_call_id="c1", name="remember"),
    ]
    reply = await OfflineChatModel().bind_tools([tool("remember")]).ainvoke(messages)
    assert reply.tool_calls == []
    assert str(reply.content) == "Researcher (offline): remember returned remembered: 01X."


async def test_selects_the_speaker_by_shared_words() -> None:
    prompt = SystemMessage(
        "Select the next speaker for this conversation.\n"
        "@writer: writes blog posts, taglines and copy\n"
        "@researcher: finds market facts and sources\n"
        "@helper: general help"
    )
    model = OfflineChatModel()
    picked = await model.ainvoke([prompt, HumanMessage("Ann: find facts about the market")])
    assert picked.content == "@researcher"
    tie = await model.ainvoke([prompt, HumanMessage("Ann: hello there")])
    assert tie.content == "@writer"


async def test_selects_from_the_prompt_when_no_human_message() -> None:
    prompt = SystemMessage(
        "Select the next speaker.\n@a: cooking recipes\n@b: travel plans\n"
        "Last message: any good travel plans for spring?"
    )
    assert (await OfflineChatModel().ainvoke([prompt])).content == "@b"


def test_sync_invoke_works_too() -> None:
    reply = OfflineChatModel().invoke([HumanMessage("Ann: hi")])
    assert str(reply.content).startswith("Assistant (offline): ")
