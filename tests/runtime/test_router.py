"""Mentions and speaker choice, on hand-built rosters (no database needed)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel

from runtime.policy import ConversationPolicy
from runtime.roster import Candidate, Roster
from runtime.router import SELECTOR_HEADER, SpeakerRouter, parse_mentions, parse_selection
from runtime.settings import Settings
from runtime.testing import ScriptedChatModel

ALPHA = Candidate("a1", "p1", "Alpha", "Alpha", "plans trips and itineraries")
BETA = Candidate("b1", "p2", "beta", "Beta", "checks the weather forecast, rain and sun")
GAMMA = Candidate("g1", "p3", "gamma", "Gamma", "cooks recipes")
QUIET = Candidate("q1", "p4", "quiet", "Quiet", "only answers when delegated to", role="observer")


def room(humans: int = 1, *agents: Candidate) -> Roster:
    return Roster(humans=tuple(f"u{i}" for i in range(humans)), agents=agents)


@pytest.mark.parametrize(
    ("text", "handles"),
    [
        ("@alpha hi", ["alpha"]),
        ("hey @Beta, and @ALPHA?", ["beta", "alpha"]),
        ("@beta @beta @alpha", ["beta", "alpha"]),
        ("mail ann@example.com or @gamma.", ["gamma"]),
        ("see `@alpha` and\n```\n@beta\n```\n@gamma", ["gamma"]),
        ("(@alpha)", ["alpha"]),
        ("@@alpha nothing", []),
        ("no mentions here", []),
        ("@data-bot: go", ["data-bot"]),
    ],
)
def test_parse_mentions(text: str, handles: list[str]) -> None:
    assert parse_mentions(text) == handles


def test_mentions_of_agents_in_the_room_win_in_order_of_mention() -> None:
    router = SpeakerRouter(Settings())
    roster = room(2, ALPHA, BETA, GAMMA)
    assert router.mentioned(roster, "@gamma then @alpha, @nobody") == [GAMMA, ALPHA]
    assert router.mentioned(roster, "@alpha @beta", exclude_agent_id="a1") == [BETA]


async def test_observers_are_never_routed_to() -> None:
    router = SpeakerRouter(Settings())
    roster = room(1, ALPHA, QUIET)
    assert router.mentioned(roster, "@quiet hello") == []
    assert await router.first_speakers(roster, ConversationPolicy(), "hello") == [ALPHA]


async def test_mentions_policy_picks_nobody_without_a_mention() -> None:
    router = SpeakerRouter(Settings())
    roster = room(2, ALPHA, BETA)
    assert await router.first_speakers(roster, ConversationPolicy(), "hello all") == []
    assert await router.first_speakers(roster, ConversationPolicy(), "hi @beta") == [BETA]


async def test_a_one_agent_room_answers_without_mentions() -> None:
    router = SpeakerRouter(Settings())
    assert await router.first_speakers(room(3, BETA), ConversationPolicy(), "hi") == [BETA]


async def test_round_robin_follows_participant_order_after_the_last_speaker() -> None:
    router = SpeakerRouter(Settings())
    roster = room(2, ALPHA, BETA, GAMMA)
    policy = ConversationPolicy(speaker="round_robin")
    picks = [
        await router.first_speakers(roster, policy, "go", last_agent_id=last)
        for last in (None, "a1", "b1", "g1", "gone")
    ]
    assert picks == [[ALPHA], [BETA], [GAMMA], [ALPHA], [ALPHA]]


class Models:
    """Selector models by name, recording which name was asked for."""

    def __init__(self, *answers: Any) -> None:
        self.model = ScriptedChatModel(replies=list(answers))
        self.names: list[str | None] = []

    def __call__(self, name: str | None) -> BaseChatModel:
        self.names.append(name)
        return self.model


async def test_selector_asks_a_model_with_the_candidates_and_the_last_message() -> None:
    models = Models("I pick @beta.")
    router = SpeakerRouter(Settings(), selector_models=models)
    policy = ConversationPolicy(selector_model="scripted:picker")
    chosen = await router.first_speakers(room(1, ALPHA, BETA), policy, "will it rain?")
    assert chosen == [BETA]
    assert models.names == ["scripted:picker"]
    prompt = models.model.last_prompt_text()
    assert prompt.startswith(SELECTOR_HEADER)
    assert "@Alpha: plans trips and itineraries" in prompt
    assert "@beta: checks the weather forecast" in prompt
    assert "will it rain?" in prompt


@pytest.mark.parametrize("answer", ["nobody in particular", "@zeta", RuntimeError("model down")])
async def test_selector_falls_back_to_the_first_agent(answer: Any) -> None:
    router = SpeakerRouter(Settings(), selector_models=Models(answer))
    chosen = await router.first_speakers(room(1, ALPHA, BETA), ConversationPolicy(), "hm")
    assert chosen == [ALPHA]


async def test_selector_with_the_offline_model_picks_by_description() -> None:
    router = SpeakerRouter(Settings(default_model="offline:default"))
    roster = room(1, ALPHA, BETA, GAMMA)
    chosen = await router.first_speakers(roster, ConversationPolicy(), "any rain in the forecast?")
    assert chosen == [BETA]


def test_parse_selection_takes_the_first_known_handle() -> None:
    assert parse_selection("gamma, or maybe @alpha", [ALPHA, GAMMA]) == GAMMA
    assert parse_selection("@ALPHA.", [ALPHA, GAMMA]) == ALPHA
    assert parse_selection("", [ALPHA]) is None
