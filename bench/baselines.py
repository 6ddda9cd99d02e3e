"""The in-process baselines: a bare LangGraph graph and AutoGen AgentChat teams, both driven by a
zero-latency fake model that streams the same reply, so what they cost is their own machinery."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langgraph.graph import END, START, MessagesState, StateGraph

REPLY = "Sure, here is a short answer of about a dozen words for you."
SYSTEM = "You answer briefly."
HISTORY_WINDOW = 40


def fake_model(reply: str = REPLY) -> BaseChatModel:
    """The project's scripted model when it is there (the same one our runtime uses in the
    bench), else LangChain's generic fake; both answer at once and stream word by word."""
    try:
        from runtime.testing import ScriptedChatModel
    except ImportError:
        from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

        return GenericFakeChatModel(messages=itertools.repeat(AIMessage(reply)))
    return ScriptedChatModel(fallback=reply, label="bench")


def bare_langgraph(model: BaseChatModel) -> Callable[[str], Awaitable[str]]:
    """A one-node graph (call the model), streamed in `messages` mode, nothing persisted."""

    async def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_edge(START, "agent")
    builder.add_edge("agent", END)
    graph = builder.compile()

    async def turn(text: str) -> str:
        chunks = []
        inputs = {"messages": [SystemMessage(SYSTEM), HumanMessage(text)]}
        async for chunk, _meta in graph.astream(inputs, stream_mode="messages"):
            chunks.append(chunk.content)
        return "".join(chunks)

    return turn


def autogen_team(agents: int, max_turns: int, replies: int, reply: str = REPLY) -> Any:
    """A `RoundRobinGroupChat` of streaming `AssistantAgent`s on `ReplayChatCompletionClient`,
    each keeping the same history window our agents read."""
    from autogen_agentchat.agents import AssistantAgent
    from autogen_agentchat.teams import RoundRobinGroupChat
    from autogen_core.model_context import BufferedChatCompletionContext
    from autogen_ext.models.replay import ReplayChatCompletionClient

    members = [
        AssistantAgent(
            f"agent{index}",
            model_client=ReplayChatCompletionClient([reply] * replies),
            model_client_stream=True,
            model_context=BufferedChatCompletionContext(buffer_size=HISTORY_WINDOW),
            system_message=SYSTEM,
        )
        for index in range(agents)
    ]
    return RoundRobinGroupChat(members, max_turns=max_turns)


async def reset_autogen(team: Any) -> None:
    """Back to an empty conversation with fresh replay scripts (done between timed batches)."""
    await team.reset()
    for participant in team._participants:
        participant._model_client.reset()
        participant._model_client._create_calls.clear()
