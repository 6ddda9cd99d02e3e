"""Model names resolve to chat models by provider; unknown providers name the agent."""

from __future__ import annotations

import pytest
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from runtime.errors import AgentDefinitionError
from runtime.models import (
    default_model_name,
    model_name,
    register_provider,
    resolve_model,
    unregister_provider,
)
from runtime.offline import OfflineChatModel
from runtime.settings import Settings
from runtime.testing import ScriptedChatModel, clear_scripted, register_scripted


def offline(**fields: object) -> Settings:
    """Settings with no model endpoint, whatever the environment says."""
    base: dict[str, object] = {"openai_api_key": None, "openai_base_url": None, "default_model": ""}
    return Settings(**{**base, **fields})  # type: ignore[arg-type]


def test_defaults() -> None:
    assert default_model_name(offline()) == "offline:default"
    online = offline(openai_api_key=SecretStr("sk-test"))
    assert default_model_name(online) == "openai:gpt-4o-mini"
    assert default_model_name(offline(default_model="offline:quiet")) == "offline:quiet"
    assert model_name("gpt-4o", online) == "openai:gpt-4o"
    assert model_name("  ", offline()) == "offline:default"


def test_offline_when_no_name_and_no_key() -> None:
    model = resolve_model(None, offline())
    assert isinstance(model, OfflineChatModel) and model.variant == "default"


def test_openai_uses_key_base_url_and_streams_usage() -> None:
    settings = offline(openai_api_key=SecretStr("sk-test"), openai_base_url="http://127.0.0.1:9/v1")
    model = resolve_model("openai:gpt-4o-mini", settings)
    assert isinstance(model, ChatOpenAI)
    assert model.model_name == "gpt-4o-mini"
    assert model.openai_api_base == "http://127.0.0.1:9/v1"
    assert model.streaming and model.stream_usage


def test_base_url_alone_is_enough_for_local_servers() -> None:
    model = resolve_model("openai:llama3", offline(openai_base_url="http://127.0.0.1:9/v1"))
    assert isinstance(model, ChatOpenAI)


def test_openai_without_key_or_base_url_is_a_clear_error() -> None:
    with pytest.raises(AgentDefinitionError, match="OPENAI_API_KEY"):
        resolve_model("openai:gpt-4o", offline(), agent="Writer")


def test_unknown_provider_names_agent_and_field() -> None:
    with pytest.raises(AgentDefinitionError) as caught:
        resolve_model("martian:x1", offline(), agent="Writer")
    assert (caught.value.agent, caught.value.field) == ("Writer", "model")
    assert "'martian'" in str(caught.value) and "offline" in str(caught.value)


def test_empty_model_after_provider() -> None:
    with pytest.raises(AgentDefinitionError, match="names no model"):
        resolve_model("offline:", offline())


def test_registered_providers_and_scripted_models() -> None:
    register_provider("echo", lambda name, settings: OfflineChatModel(variant=name))
    try:
        assert resolve_model("echo:loud", offline()).variant == "loud"  # type: ignore[attr-defined]
    finally:
        unregister_provider("echo")
    with pytest.raises(ValueError, match="bare word"):
        register_provider("a:b", lambda name, settings: OfflineChatModel())
    scripted = ScriptedChatModel(replies=["hi"])
    assert register_scripted("mine", scripted) == "scripted:mine"
    try:
        assert resolve_model("scripted:mine", offline()) is scripted
    finally:
        clear_scripted()
    with pytest.raises(AgentDefinitionError, match="scripted"):
        resolve_model("scripted:mine", offline())
