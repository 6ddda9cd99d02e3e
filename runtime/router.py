"""Who speaks next: @mentions first, then the conversation's speaker policy.

Mentions are `@handle`, case-insensitive and word-bounded; an address like `ann@example.com`
and anything inside a code span or fence is not a mention.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from runtime.policy import ConversationPolicy, Speaker
from runtime.roster import Candidate, Roster
from runtime.settings import Settings

log = logging.getLogger(__name__)

MENTION = re.compile(r"(?<![\w@.+-])@([a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?)(?!\w)", re.IGNORECASE)
FENCED_CODE = re.compile(r"```.*?(?:```|\Z)", re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
HANDLE_TOKEN = re.compile(r"@?([a-z0-9_][a-z0-9_.-]*)", re.IGNORECASE)
SELECTOR_HEADER = "Select the next speaker"

SelectorModels = Callable[[str | None], BaseChatModel]


def parse_mentions(text: str) -> list[str]:
    """Lower-cased handles mentioned in `text`, in order of first mention, without repeats."""
    text = INLINE_CODE.sub(" ", FENCED_CODE.sub(" ", text or ""))
    handles: list[str] = []
    for match in MENTION.finditer(text):
        handle = match.group(1).lower()
        if handle not in handles:
            handles.append(handle)
    return handles


def selector_prompt(candidates: Sequence[Candidate], last_message: str) -> str:
    """The system prompt that asks a model to pick a speaker; it starts with SELECTOR_HEADER."""
    lines = [f"@{c.handle}: {c.description or c.name}" for c in candidates]
    return (
        f"{SELECTOR_HEADER} of this conversation. Answer with exactly one handle from the "
        "candidates, and nothing else.\n\nCandidates:\n"
        + "\n".join(lines)
        + f"\n\nLast message:\n{last_message}"
    )


def parse_selection(answer: str, candidates: Sequence[Candidate]) -> Candidate | None:
    """The first candidate whose handle appears in the model's answer, if any."""
    by_handle = {c.handle.lower(): c for c in candidates}
    for match in HANDLE_TOKEN.finditer(answer or ""):
        token = match.group(1).lower().rstrip(".-")
        if token in by_handle:
            return by_handle[token]
    return None


def _default_selector_model(settings: Settings) -> SelectorModels:
    def build(name: str | None) -> BaseChatModel:
        from runtime.models import resolve_model

        return resolve_model(name or settings.default_model or None, settings)

    return build


class SpeakerRouter:
    """Decides which agents answer a message, and which agents an agent's reply calls in."""

    def __init__(self, settings: Settings, selector_models: SelectorModels | None = None) -> None:
        self.settings = settings
        self.selector_models = selector_models or _default_selector_model(settings)

    def mentioned(
        self, roster: Roster, text: str, *, exclude_agent_id: str | None = None
    ) -> list[Candidate]:
        """Speaking agents of the roster @mentioned in `text`, in order of mention."""
        found: list[Candidate] = []
        for handle in parse_mentions(text):
            agent = roster.by_handle(handle)
            if agent is not None and agent.speaks and agent.agent_id != exclude_agent_id:
                found.append(agent)
        return found

    async def first_speakers(
        self,
        roster: Roster,
        policy: ConversationPolicy,
        text: str,
        *,
        last_agent_id: str | None = None,
    ) -> list[Candidate]:
        """The agents that answer a human message: its @mentions, else the policy's choice."""
        mentioned = self.mentioned(roster, text)
        if mentioned:
            return mentioned
        speakers = roster.speakers
        if not speakers:
            return []
        mode = policy.effective_speaker(len(roster.humans), len(speakers))
        if mode == Speaker.MENTIONS:
            return []
        if mode == Speaker.ROUND_ROBIN:
            return [self.round_robin(speakers, last_agent_id)]
        return [await self.select(speakers, text, policy)]

    @staticmethod
    def round_robin(speakers: Sequence[Candidate], last_agent_id: str | None) -> Candidate:
        """The agent after the last one that spoke, in participant order (the first if none)."""
        ids = [s.agent_id for s in speakers]
        if last_agent_id not in ids:
            return speakers[0]
        return speakers[(ids.index(last_agent_id) + 1) % len(speakers)]

    async def select(
        self, speakers: Sequence[Candidate], text: str, policy: ConversationPolicy
    ) -> Candidate:
        """Ask a model to pick; an unusable answer (or a failing model) picks the first agent."""
        if len(speakers) == 1:
            return speakers[0]
        try:
            model = self.selector_models(policy.selector_model)
            answer = await model.ainvoke(
                [SystemMessage(selector_prompt(speakers, text)), HumanMessage(text or "(empty)")]
            )
        except Exception:
            log.warning("speaker selector failed; the first agent answers", exc_info=True)
            return speakers[0]
        content = answer.content if isinstance(answer.content, str) else str(answer.content)
        return parse_selection(content, speakers) or speakers[0]
