"""What an agent reads of a conversation: a window of recent messages plus a running summary.

The window is the last `history_window` messages. Everything older is folded into a summary
stored on the conversation (`summary`, covering messages up to `summary_seq`); each turn folds
in only the messages that left the window since the last update, so a long conversation's
prompt, and the work done per turn, stay bounded however long it grows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from sqlalchemy import select, update

from store.db import Database
from store.enums import MemberKind, MessageKind
from store.errors import NotFound
from store.messages import MAX_PAGE, Messages
from store.models import (
    Agent,
    Conversation,
    ConversationMessage,
    ConversationParticipant,
    User,
)

Summarizer = Callable[[str | None, list[str]], Awaitable[str]]
MAX_SUMMARY_CHARS = 4000
SUMMARY_LINE_WORDS = 30
OMITTED = "(earlier messages omitted)"


@dataclass(frozen=True)
class Author:
    """Who wrote a message, as the agent should see it."""

    kind: str
    name: str
    handle: str | None = None
    agent_id: str | None = None
    user_id: str | None = None

    def label(self) -> str:
        return f"{self.name} (@{self.handle})" if self.handle else self.name


@dataclass(frozen=True)
class History:
    """Model messages for the window, the summary of what came before, and the trigger."""

    messages: list[BaseMessage]
    summary: str | None
    last_seq: int
    last_text: str


async def extractive_summary(previous: str | None, lines: list[str]) -> str:
    """The default summarizer: no model call. Keeps a line per message (its first words) and
    drops the oldest lines beyond `MAX_SUMMARY_CHARS`."""
    kept = [line for line in (previous or "").splitlines() if line and line != OMITTED]
    kept += lines
    dropped = OMITTED in (previous or "")
    while kept and sum(len(line) + 1 for line in kept) > MAX_SUMMARY_CHARS:
        kept.pop(0)
        dropped = True
    return "\n".join(([OMITTED] if dropped else []) + kept)


def model_summarizer(model: object) -> Summarizer:
    """A summarizer that asks a chat model to fold the new lines into the summary."""

    async def summarize(previous: str | None, lines: list[str]) -> str:
        prompt = (
            "Update the running summary of a conversation with the new messages below. Keep "
            "names, decisions, facts and open questions; at most 200 words.\n\n"
            f"Summary so far:\n{previous or '(none)'}\n\nNew messages:\n" + "\n".join(lines)
        )
        reply = await model.ainvoke([HumanMessage(prompt)])  # type: ignore[attr-defined]
        return str(reply.text)[:MAX_SUMMARY_CHARS]

    return summarize


async def authors(db: Database, conversation_id: str) -> dict[str, Author]:
    """Every participant who ever wrote here (removed ones too), by participant id."""
    async with db.session() as session:
        rows = await session.execute(
            select(ConversationParticipant, User.name, Agent.name, Agent.handle)
            .outerjoin(User, User.id == ConversationParticipant.user_id)
            .outerjoin(Agent, Agent.id == ConversationParticipant.agent_id)
            .where(ConversationParticipant.conversation_id == conversation_id)
        )
        found = {}
        for participant, user_name, agent_name, handle in rows:
            if participant.kind == MemberKind.AGENT:
                found[participant.id] = Author(
                    "agent", agent_name or "an agent", handle, agent_id=participant.agent_id
                )
            else:
                found[participant.id] = Author(
                    "user", user_name or "someone", user_id=participant.user_id
                )
        return found


def to_model_message(
    message: ConversationMessage, author: Author | None, agent_id: str
) -> BaseMessage | None:
    """A stored message as the agent reads it: its own as AI, everyone else's as named text."""
    content = message.content or ""
    if not content.strip():
        return None
    if message.kind == MessageKind.SYSTEM or author is None:
        return HumanMessage(f"[system notice] {content}")
    if author.agent_id == agent_id:
        return AIMessage(content)
    suffix = " (agent)" if author.kind == "agent" else ""
    return HumanMessage(f"{author.label()}{suffix}: {content}")


def summary_line(message: ConversationMessage, author: Author | None) -> str:
    words = (message.content or "").split()
    text = " ".join(words[:SUMMARY_LINE_WORDS]) + ("..." if len(words) > SUMMARY_LINE_WORDS else "")
    who = author.label() if author else "system"
    return f"#{message.seq} {who}: {text}"


async def build_history(
    db: Database,
    conversation_id: str,
    agent_id: str,
    window: int,
    *,
    summarizer: Summarizer = extractive_summary,
) -> History:
    """The agent's view of the conversation: the last `window` messages as model messages,
    and the running summary of older ones (brought up to date first)."""
    recent = await Messages(db).latest(conversation_id, max(1, window))
    names = await authors(db, conversation_id)
    first_seq = recent[0].seq if recent else None
    summary = await update_summary(db, conversation_id, first_seq, names, summarizer)
    messages = []
    for stored in recent:
        converted = to_model_message(
            stored, names.get(stored.author_participant_id or ""), agent_id
        )
        if converted is not None:
            messages.append(converted)
    last_text = next((str(m.text) for m in reversed(messages) if isinstance(m, HumanMessage)), "")
    return History(messages, summary, recent[-1].seq if recent else 0, last_text)


async def update_summary(
    db: Database,
    conversation_id: str,
    first_window_seq: int | None,
    names: dict[str, Author],
    summarizer: Summarizer,
) -> str | None:
    """Fold the messages between the stored `summary_seq` and the window into the summary."""
    async with db.session() as session:
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None:
            raise NotFound("conversations", conversation_id)
        summary, covered = conversation.summary, conversation.summary_seq or 0
    if first_window_seq is None or first_window_seq - 1 <= covered:
        return summary
    target = first_window_seq - 1
    lines: list[str] = []
    after = covered
    while after < target:
        page = await Messages(db).after(conversation_id, after, min(MAX_PAGE, target - after))
        page = [m for m in page if m.seq <= target]
        if not page:
            break
        lines += [
            summary_line(m, names.get(m.author_participant_id or ""))
            for m in page
            if (m.content or "").strip()
        ]
        after = page[-1].seq
    new_summary = await summarizer(summary, lines) if lines else summary
    async with db.session() as session:
        # Conditional: a concurrent reader that already advanced the summary wins.
        await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id, Conversation.summary_seq == covered)
            .values(summary=new_summary, summary_seq=target)
        )
    return new_summary
