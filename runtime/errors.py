"""Errors of the runtime in two families: developer mistakes and run failures.

Developer mistakes (a bad agent definition, an unknown model provider, a tool nobody registered)
are raised early and name the agent and the field at fault. Run failures carry the ids of the
conversation, turn and agent they happened in. Control flow (a hand-off, an interrupt) is not an
error and has no class here.
"""

from __future__ import annotations


class ElevateRuntimeError(Exception):
    """Base of every error raised by `runtime/`; `code` is stable for clients."""

    code = "runtime_error"


class AgentDefinitionError(ElevateRuntimeError):
    """An agent row (or the name of a model) cannot be compiled as it stands."""

    code = "agent_definition"

    def __init__(self, agent: str | None, field: str, message: str) -> None:
        self.agent, self.field = agent, field
        where = f"agent {agent!r}, field {field!r}" if agent else f"field {field!r}"
        super().__init__(f"{where}: {message}")


class RunError(ElevateRuntimeError):
    """Something failed while a turn ran; the ids say where."""

    code = "run_error"

    def __init__(
        self,
        message: str,
        *,
        conversation_id: str | None = None,
        turn_id: str | None = None,
        agent_id: str | None = None,
    ) -> None:
        self.conversation_id, self.turn_id, self.agent_id = conversation_id, turn_id, agent_id
        super().__init__(message)


class ModelError(RunError):
    """The model call failed (network, provider error, malformed answer)."""

    code = "model_error"


class TurnTimeout(RunError):
    """A turn ran longer than `settings.turn_timeout_seconds`."""

    code = "turn_timeout"


class DelegationRefused(RunError):
    """A hand-off that is not allowed: not a delegate, too deep, or a cycle."""

    code = "delegation_refused"
