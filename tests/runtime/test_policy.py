"""ConversationPolicy: defaults, the `auto` speaker rule, the loop guard, and clear errors."""

from __future__ import annotations

import pytest

from runtime.policy import ConversationPolicy, InvalidPolicy, MidTurn, Speaker
from runtime.settings import Settings
from store.errors import InvalidValue


def test_empty_and_missing_policies_are_all_defaults() -> None:
    for stored in (None, {}):
        policy = ConversationPolicy.from_config(stored)
        assert policy.speaker == Speaker.AUTO
        assert policy.mid_turn == MidTurn.QUEUE
        assert policy.max_agent_turns is None


def test_the_loop_guard_defaults_to_the_setting_and_can_be_set_per_conversation() -> None:
    settings = Settings(max_agent_turns_per_trigger=6)
    assert ConversationPolicy().agent_turn_limit(settings) == 6
    assert ConversationPolicy(max_agent_turns=2).agent_turn_limit(settings) == 2


@pytest.mark.parametrize(
    ("humans", "agents", "expected"),
    [
        (1, 1, Speaker.ROUND_ROBIN),  # one agent: it answers
        (3, 1, Speaker.ROUND_ROBIN),
        (2, 3, Speaker.MENTIONS),
        (1, 3, Speaker.SELECTOR),
    ],
)
def test_auto_resolves_from_the_room(humans: int, agents: int, expected: Speaker) -> None:
    assert ConversationPolicy().effective_speaker(humans, agents) == expected


def test_an_explicit_speaker_rule_is_kept_whatever_the_room() -> None:
    policy = ConversationPolicy.from_config({"speaker": "mentions"})
    assert policy.effective_speaker(1, 1) == Speaker.MENTIONS


def test_round_trip_stores_only_what_differs_from_the_defaults() -> None:
    policy = ConversationPolicy.from_config({"mid_turn": "coalesce", "max_agent_turns": 3})
    assert policy.to_config() == {"mid_turn": "coalesce", "max_agent_turns": 3}
    assert ConversationPolicy.from_config(policy.to_config()) == policy


@pytest.mark.parametrize(
    ("stored", "field"),
    [
        ({"speaker": "loudest"}, "policy.speaker"),
        ({"mid_turn": "shout"}, "policy.mid_turn"),
        ({"max_agent_turns": 0}, "policy.max_agent_turns"),
        ({"max_agent_turns": "many"}, "policy.max_agent_turns"),
        ({"volume": 11}, "policy.volume"),
        (["speaker"], "policy"),
    ],
)
def test_invalid_policies_raise_a_stable_code_naming_the_field(stored: object, field: str) -> None:
    with pytest.raises(InvalidPolicy) as caught:
        ConversationPolicy.from_config(stored)  # type: ignore[arg-type]
    assert caught.value.code == "invalid_policy"
    assert caught.value.field == field
    assert field in str(caught.value)
    assert isinstance(caught.value, InvalidValue)
