"""The state of a trigger and its turns: what agents answer, the loop-guard budget, and how
each agent turn ended, before and after it is stored."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from runtime import regenerate
from runtime.history import SummaryMark, SummaryUpdate
from runtime.locks import Lease
from runtime.roster import Candidate, Roster
from store.enums import MessageStatus, TurnStatus
from store.models import Agent, Conversation

MESSAGE_STATUS = {
    TurnStatus.COMPLETED: MessageStatus.COMPLETE,
    TurnStatus.CANCELLED: MessageStatus.CANCELLED,
    TurnStatus.FAILED: MessageStatus.FAILED,
}


@dataclass
class Trigger:
    """What agents answer: one human message, or several coalesced while a turn ran."""

    seq: int
    user_id: str | None
    texts: list[str]
    # Set for a regenerate (runtime/regenerate.py): the reply to write another version of.
    regenerate: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        return "\n\n".join(self.texts)

    def absorb(self, later: Trigger) -> None:
        self.seq = later.seq
        self.user_id = later.user_id
        self.texts.extend(later.texts)


@dataclass
class Budget:
    """The loop guard of one trigger: agent turns left, delegated ones included."""

    limit: int
    used: int = 0

    def take(self) -> bool:
        if self.used >= self.limit:
            return False
        self.used += 1
        return True


@dataclass
class TriggerRun:
    """State shared by the turns of one trigger: the conversation and roster read when it
    started (the roster is read again with a reply that calls other agents in), the summary
    watermark as the trigger's turns advance it, and the speakers still queued."""

    conversation: Conversation
    trigger: Trigger
    lease: Lease
    budget: Budget
    roster: Roster
    summary: SummaryMark = field(default_factory=lambda: SummaryMark(None, 0))
    queue: deque[Candidate] = field(default_factory=deque)
    lease_lost: bool = False
    # The fencing token this trigger's writes carry (the conversation's `fence` it claimed).
    fence: int | None = None
    # Agents that already answered this trigger as a delegate: a mention of them is consumed.
    delegated: set[str] = field(default_factory=set)


@dataclass
class TurnInputs:
    """What the runtime already read for one agent turn, handed to the runner so that the turn
    reads only what changes turn to turn. The runner leaves the brought-up-to-date summary in
    `summary_update`; the runtime stores it with the reply."""

    agent: Agent
    roster: Roster
    summary: SummaryMark
    summary_update: SummaryUpdate | None = None


@dataclass(frozen=True)
class TurnOutcome:
    turn_id: str
    status: str
    content: str
    message_seq: int | None
    error: str | None = None


@dataclass
class FinishedTurn:
    """How a turn ended, before it is stored."""

    run: TriggerRun
    turn_id: str
    speaker: Candidate
    parent_turn_id: str | None
    status: str
    content: str
    model: str | None = None
    usage: dict[str, int] = field(default_factory=lambda: {"input_tokens": 0, "output_tokens": 0})
    error: str | None = None
    cancelled_by: dict[str, Any] | None = None
    summary_update: SummaryUpdate | None = None
    # A stable code for a turn refused before it ran (`budget_exceeded`).
    error_code: str | None = None

    def meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"model": self.model, "usage": self.usage}
        if self.parent_turn_id:
            meta["parent_turn_id"] = self.parent_turn_id
        if self.error:
            meta["error"] = self.error
        if self.error_code:
            meta["error_code"] = self.error_code
        if self.run.trigger.regenerate is not None and not self.parent_turn_id:
            meta.update(regenerate.reply_meta(self.run.trigger.regenerate))
        if self.status == TurnStatus.CANCELLED:
            meta["cancelled"] = {**(self.cancelled_by or {}), "partial": True}
            meta["empty"] = not self.content
        return meta


@dataclass
class TurnFinish:
    """Builds the `FinishedTurn` for each way a runner task can end."""

    run: TriggerRun
    turn_id: str
    speaker: Candidate
    parent_turn_id: str | None
    deltas: list[str]
    inputs: TurnInputs | None = None

    def _finished(self, status: str, content: str | None = None, **fields: Any) -> FinishedTurn:
        return FinishedTurn(
            self.run,
            self.turn_id,
            self.speaker,
            self.parent_turn_id,
            status,
            "".join(self.deltas) if content is None else content,
            model=fields.pop("model", self.speaker.model),
            summary_update=self.inputs.summary_update if self.inputs is not None else None,
            **fields,
        )

    def cancelled(self, by: dict[str, Any]) -> FinishedTurn:
        return self._finished(TurnStatus.CANCELLED, cancelled_by=by)

    def failed(self, exc: BaseException) -> FinishedTurn:
        return self._finished(TurnStatus.FAILED, error=f"{type(exc).__name__}: {exc}")

    def refused(self, exc: Exception, code: str) -> FinishedTurn:
        """A turn stopped before its model ran (a used-up budget): no text, a stable code."""
        return self._finished(TurnStatus.FAILED, "", error=str(exc), error_code=code)

    def result(self, result: Any) -> FinishedTurn:
        usage = {"input_tokens": result.input_tokens, "output_tokens": result.output_tokens}
        cached = getattr(result, "cached_tokens", 0)
        if cached:
            usage["cached_tokens"] = cached
        status = TurnStatus.COMPLETED if result.status == "completed" else TurnStatus.FAILED
        return self._finished(
            status, result.content, model=result.model, usage=usage, error=result.error
        )
