"""A grant's configuration: the limits and fixed arguments under which an agent calls a tool.

Stored as JSON on the `agent_tools` row; validated here, against the tool it is for, before it
is stored and again when a turn loads it, with errors that name the agent and the tool.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from store.models import AgentTool, Tool
from tools.errors import InvalidGrant, UnknownTool
from tools.registry import ToolRegistry, ToolSpec, registry

DEFAULT_TIMEOUT_SECONDS = 30.0


class GrantConfig(BaseModel):
    """Per-agent configuration of one tool.

    `timeout_seconds` None means the executor's default (the `ELEVATE_TOOL_TIMEOUT_SECONDS`
    setting). `fixed_args` win over whatever the model passes and are hidden from its schema.
    `settings` is free-form and reaches the tool as `ToolContext.settings`. `secret_args` names
    fixed arguments (an API key, say) whose values are never shown again: not on the REST API,
    not in the `tool_calls` record, not in frames.
    """

    model_config = ConfigDict(extra="forbid")

    timeout_seconds: float | None = Field(None, gt=0, le=3600)
    max_calls_per_turn: int | None = Field(None, ge=1)
    requires_approval: bool = False
    fixed_args: dict[str, Any] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict)
    secret_args: list[str] = Field(default_factory=list)

    def to_config(self) -> dict[str, Any]:
        """The JSON stored on the grant row (defaults left out)."""
        return self.model_dump(mode="json", exclude_defaults=True)

    def public_config(self) -> dict[str, Any]:
        """`to_config` without the values of secret arguments (their names stay listed)."""
        config = self.to_config()
        fixed = self.redact(self.fixed_args)
        if fixed:
            config["fixed_args"] = fixed
        else:
            config.pop("fixed_args", None)
        return config

    def redact(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """`arguments` without the secret ones, for anything that is stored or shown."""
        return {k: v for k, v in arguments.items() if k not in self.secret_args}

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> GrantConfig:
        return cls.model_validate(config or {})


def validate_grant(
    config: dict[str, Any] | GrantConfig | None, spec: ToolSpec, *, agent: str
) -> GrantConfig:
    """Parse `config` for `spec`, checking that its fixed arguments exist and fit their types.

    `agent` (a name or id) only serves the error message.
    """
    try:
        grant = config if isinstance(config, GrantConfig) else GrantConfig.from_config(config)
    except ValidationError as exc:
        raise InvalidGrant(agent, spec.name, _first_error(exc)) from exc
    fields = spec.args_model.model_fields
    unknown = sorted(set(grant.fixed_args) - set(fields))
    if unknown:
        raise InvalidGrant(
            agent,
            spec.name,
            f"fixed_args {', '.join(unknown)} are not parameters of the tool; "
            f"expected some of {', '.join(fields) or '(none)'}",
        )
    unfixed = [name for name in grant.secret_args if name not in grant.fixed_args]
    if unfixed:
        raise InvalidGrant(
            agent,
            spec.name,
            f"secret_args {', '.join(unfixed)} are not fixed arguments; a secret argument "
            "needs its value in fixed_args",
        )
    for name, value in grant.fixed_args.items():
        try:
            spec.args_model.__pydantic_validator__.validate_assignment(
                spec.args_model.model_construct(), name, value
            )
        except ValidationError as exc:
            raise InvalidGrant(
                agent, spec.name, f"fixed_args.{name}: {exc.errors()[0]['msg']}"
            ) from exc
    return grant


def grants_from_rows(
    rows: Iterable[tuple[Tool, AgentTool]],
    *,
    agent: str,
    tools: ToolRegistry = registry,
) -> dict[str, GrantConfig]:
    """Validated grants by tool name, from `Tools.grants_for_agent` rows.

    A granted tool that this process has not registered is left out (it cannot run here); the
    executor then refuses calls to it as `unknown_tool`.
    """
    grants = {}
    for tool_row, grant_row in rows:
        try:
            spec = tools.get(tool_row.name)
        except UnknownTool:
            continue
        grants[tool_row.name] = validate_grant(grant_row.config, spec, agent=agent)
    return grants


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else error["msg"]
