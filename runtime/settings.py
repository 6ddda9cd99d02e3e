"""All configuration in one place, read from the environment (`ELEVATE_*` and the usual names)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("data")


class Settings(BaseSettings):
    """Process settings. Nothing here connects to anything; it only describes where to go."""

    model_config = SettingsConfigDict(env_prefix="ELEVATE_", extra="ignore")

    environment: str = Field("development", description="development, test or production")
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str | None = Field(
        None, validation_alias=AliasChoices("DATABASE_URL", "ELEVATE_DATABASE_URL")
    )
    redis_url: str | None = Field(
        None, validation_alias=AliasChoices("REDIS_URL", "ELEVATE_REDIS_URL")
    )
    openai_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("OPENAI_API_KEY", "ELEVATE_OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        None, validation_alias=AliasChoices("OPENAI_BASE_URL", "ELEVATE_OPENAI_BASE_URL")
    )
    default_model: str = Field(
        "", description="provider:model for agents that name none; empty picks offline or openai"
    )
    secret_key: SecretStr = SecretStr("development-only-secret-change-me")
    token_ttl_seconds: int = 60 * 60 * 24 * 14
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="origins allowed on the websocket; empty: the server's own (what it binds)",
    )

    # Conversation limits and loop guards.
    max_agent_turns_per_trigger: int = 8
    max_delegation_depth: int = 3
    turn_timeout_seconds: float = 120.0
    tool_timeout_seconds: float = 30.0
    tool_modules: str = Field("", description="comma-separated modules that register tools")
    approval_timeout_seconds: float = 300.0
    max_tool_result_chars: int = 8000
    history_window: int = 40
    memory_recall_limit: int = 5
    memory_embeddings_url: str | None = Field(
        None, description="OpenAI-compatible base URL (.../v1) embedding memories; unset: none"
    )
    memory_embeddings_model: str = "text-embedding-3-small"
    memory_embeddings_api_key: SecretStr | None = Field(
        None, description="key for the embeddings endpoint; unset: the OpenAI key"
    )
    memory_embeddings_dimensions: int | None = Field(
        None, ge=1, le=8192, description="vector size to ask for; unset: the model's own"
    )
    memory_embeddings_timeout_seconds: float = 10.0
    offline_stream_delay_ms: float = Field(
        20.0, ge=0, le=1000, description="pause between the offline model's streamed words"
    )

    # Websocket limits.
    max_frame_bytes: int = 64 * 1024
    max_message_chars: int = 16_000
    frames_per_second: float = 20.0
    frame_burst: int = 40
    max_connections_per_user: int = 10
    idle_timeout_seconds: float = 300.0
    send_queue_size: int = 1000

    # Locks and leases.
    lease_seconds: float = 30.0

    # Usage, cost and budgets (see docs/operations.md).
    model_prices: str = Field(
        "",
        description="JSON object, or a path to a JSON or YAML file, of per-model prices in USD "
        "per million tokens, laid over the shipped table",
    )
    daily_token_budget_per_user: int = Field(
        0, ge=0, description="tokens a person's messages may use per UTC day; 0: no limit"
    )
    daily_token_budget_per_agent: int = Field(
        0, ge=0, description="tokens an agent may use per UTC day; 0: no limit"
    )
    # Uploads: attachments and avatars.
    storage_url: str = Field("", description="where uploaded bytes go; empty: <data_dir>/uploads")
    upload_max_bytes: int = 10 * 1024 * 1024
    avatar_max_bytes: int = 2 * 1024 * 1024
    upload_types: list[str] = Field(
        default_factory=lambda: [
            "image/png",
            "image/jpeg",
            "image/gif",
            "image/webp",
            "application/pdf",
            "text/plain",
            "text/markdown",
            "text/csv",
            "application/json",
        ],
        description="content types accepted (checked against the file's bytes)",
    )
    max_attachments_per_message: int = 10
    attachment_text_chars: int = Field(
        20_000, description="characters of a text or PDF attachment a model reads (then a note)"
    )
    text_only_models: list[str] = Field(
        default_factory=list, description="provider:model names that get images as a note only"
    )

    # MCP servers as tool sources (see docs/tools.md).
    mcp_servers_file: str = Field("", description="YAML or JSON file declaring MCP servers")
    mcp_refresh_seconds: float = 60.0
    mcp_retry_base_seconds: float = 1.0
    mcp_retry_max_seconds: float = 60.0

    # Observability (tracing itself is configured by the standard OTEL_* variables).
    trace_content: bool = Field(
        False, description="record prompts, replies and tool arguments/results on spans"
    )
    metrics_enabled: bool = Field(False, description="serve Prometheus metrics at /metrics")
    metrics_token: SecretStr | None = Field(
        None, description="bearer token /metrics requires (setting it enables /metrics)"
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="json: one JSON object a line, with conversation, turn, trace ids"
    )

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment == "production":
            if self.secret_key.get_secret_value().startswith("development-only"):
                raise ValueError("ELEVATE_SECRET_KEY must be set in production")
            if "*" in self.allowed_origins:
                raise ValueError("ELEVATE_ALLOWED_ORIGINS must list origins in production")
        return self

    @property
    def resolved_database_url(self) -> str:
        """`DATABASE_URL`, or a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'elevate.sqlite').resolve()}"

    @property
    def offline(self) -> bool:
        """True when no model endpoint is configured: the deterministic offline model answers."""
        return self.openai_api_key is None and self.openai_base_url is None
