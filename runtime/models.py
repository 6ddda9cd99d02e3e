"""Chat models by name: `provider:model` strings resolved to LangChain chat models.

An agent row names its model as `openai:gpt-4o-mini` or `offline:default`; tests register more
providers (`scripted:`) with `register_provider`. Nothing here connects to anything: the
OpenAI-compatible client only talks when it is first called.
"""

from __future__ import annotations

from collections.abc import Callable

from langchain_core.language_models import BaseChatModel

from runtime.errors import AgentDefinitionError
from runtime.settings import Settings

ModelFactory = Callable[[str, Settings], BaseChatModel]

_providers: dict[str, ModelFactory] = {}


def register_provider(prefix: str, factory: ModelFactory) -> None:
    """Make `prefix:<model>` names resolve through `factory(model, settings)`."""
    if not prefix or ":" in prefix:
        raise ValueError(f"a provider prefix is a bare word like 'openai', got {prefix!r}")
    _providers[prefix] = factory


def unregister_provider(prefix: str) -> None:
    _providers.pop(prefix, None)


def default_model_name(settings: Settings) -> str:
    """The model for agents that name none: the configured default, else offline or OpenAI."""
    if settings.default_model:
        return settings.default_model
    return "offline:default" if settings.offline else "openai:gpt-4o-mini"


def model_name(name: str | None, settings: Settings) -> str:
    """The full `provider:model` name that `resolve_model(name, settings)` would build."""
    name = (name or "").strip() or default_model_name(settings)
    if ":" not in name:
        # A bare model name is the common case for OpenAI-compatible servers.
        name = f"openai:{name}"
    return name


def check_model_name(name: str | None, settings: Settings, *, agent: str | None = None) -> str:
    """The resolved name, or an `AgentDefinitionError` naming the agent if the provider is
    unknown or the model part is empty."""
    full = model_name(name, settings)
    provider, _, model = full.partition(":")
    if provider not in _providers:
        known = ", ".join(sorted(_providers))
        raise AgentDefinitionError(
            agent, "model", f"unknown model provider {provider!r} in {full!r}; known: {known}"
        )
    if not model:
        raise AgentDefinitionError(agent, "model", f"{full!r} names no model after the provider")
    return full


def resolve_model(
    name: str | None, settings: Settings, *, agent: str | None = None
) -> BaseChatModel:
    """A chat model for a `provider:model` name (or the default when `name` is empty)."""
    full = check_model_name(name, settings, agent=agent)
    provider, _, model = full.partition(":")
    if provider == "openai" and settings.offline:
        raise AgentDefinitionError(
            agent,
            "model",
            f"{full!r} needs OPENAI_API_KEY or OPENAI_BASE_URL; set one, or use offline:default",
        )
    return _providers[provider](model, settings)


def _openai(model: str, settings: Settings) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    # Local OpenAI-compatible servers (Ollama, vLLM, LM Studio) accept any key.
    if key is None and settings.openai_base_url:
        key = "not-needed"
    return ChatOpenAI(
        model=model,
        api_key=key,
        base_url=settings.openai_base_url,
        streaming=True,
        stream_usage=True,
        max_retries=1,
    )


def _offline(model: str, settings: Settings) -> BaseChatModel:
    from runtime.offline import OfflineChatModel

    return OfflineChatModel(name=model, stream_delay_ms=settings.offline_stream_delay_ms)


register_provider("openai", _openai)
register_provider("offline", _offline)
