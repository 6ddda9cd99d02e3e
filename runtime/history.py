"""What an agent reads of a conversation: a window of recent messages plus a running summary.

The window is the last `history_window` messages. Everything older is folded into a summary
stored on the conversation (`summary`, covering messages up to `summary_seq`); each turn folds
in only the messages that left the window since the last update, so a long conversation's
prompt, and the work done per turn, stay bounded however long it grows.

On the runtime's hot path the window, its authors and the few messages about to be folded in
come from one query (`read_window`, inside the turn's read transaction); the summary watermark
is the one the trigger already loaded (`SummaryMark`), and the summary's update is stored with
the turn's reply (`SummaryUpdate.apply`) rather than in a transaction of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.quoting import label as quoted_label
from runtime.regenerate import superseded
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
# Messages read beyond the window, so that the ones leaving it since the last turn can be
# folded into the summary without another query.
FOLD_SLACK = 16


@dataclass(frozen=True)
class Author:
    """Who wrote a message, as the agent should see it."""

    kind: str
    name: str
    handle: str | None = None
    agent_id: str | None = None
    user_id: str | None = None

    def label(self) -> str:
        """How the agent sees the author: a name someone chose, so quoted unless plain (a name
        with a newline cannot pose as another speaker or a system notice)."""
        name = quoted_label(self.name)
        return f"{name} (@{quoted_label(self.handle)})" if self.handle else name


@dataclass
class SummaryMark:
    """The running summary and the last seq it covers, as the caller last knew them."""

    text: str | None
    seq: int


@dataclass(frozen=True)
class SummaryUpdate:
    """A summary brought up to date, to store if nobody advanced it meanwhile."""

    covered: int
    seq: int
    text: str | None

    async def apply(self, session: AsyncSession, conversation_id: str) -> bool:
        """Store it (conditional: a concurrent writer that already advanced it wins)."""
        result = await session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id, Conversation.summary_seq == self.covered)
            .values(summary=self.text, summary_seq=self.seq)
        )
        return bool(result.rowcount)


@dataclass(frozen=True)
class History:
    """Model messages for the window, the summary of what came before, and the trigger."""

    messages: list[BaseMessage]
    summary: str | None
    last_seq: int
    last_text: str
    summary_update: SummaryUpdate | None = None


Authored = tuple[ConversationMessage, Author | None]


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
    async with db.read() as session:
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


async def read_window(session: AsyncSession, conversation_id: str, window: int) -> list[Authored]:
    """The last `window` messages and up to `FOLD_SLACK` before them, oldest first, each with
    its author (removed participants too), in one query."""
    rows = await session.execute(
        select(
            ConversationMessage,
            ConversationParticipant.kind,
            ConversationParticipant.user_id,
            ConversationParticipant.agent_id,
            User.name,
            Agent.name,
            Agent.handle,
        )
        .outerjoin(
            ConversationParticipant,
            ConversationParticipant.id == ConversationMessage.author_participant_id,
        )
        .outerjoin(User, User.id == ConversationParticipant.user_id)
        .outerjoin(Agent, Agent.id == ConversationParticipant.agent_id)
        .where(ConversationMessage.conversation_id == conversation_id)
        .order_by(ConversationMessage.seq.desc())
        .limit(max(1, min(window, MAX_PAGE)) + FOLD_SLACK)
    )
    found: list[Authored] = []
    for message, kind, user_id, agent_id, user_name, agent_name, handle in rows:
        author = None
        if kind == MemberKind.AGENT:
            author = Author("agent", agent_name or "an agent", handle, agent_id=agent_id)
        elif kind is not None:
            author = Author("user", user_name or "someone", user_id=user_id)
        found.append((message, author))
    found.reverse()
    return found


async def build_history(
    db: Database,
    conversation_id: str,
    agent_id: str,
    window: int,
    *,
    summarizer: Summarizer = extractive_summary,
    mark: SummaryMark | None = None,
    rows: list[Authored] | None = None,
) -> History:
    """The agent's view of the conversation: the last `window` messages as model messages,
    and the running summary of older ones (brought up to date first).

    Given the `rows` of `read_window` and the caller's `mark`, it reads nothing more in the
    usual case and leaves storing the summary to the caller (`History.summary_update`);
    without them it reads both and stores the summary itself.
    """
    window = max(1, min(window, MAX_PAGE))
    if rows is None:
        async with db.read() as session:
            rows = await read_window(session, conversation_id, window)
    stored = mark is None
    if mark is None:
        mark = await read_mark(db, conversation_id)
    recent, older = rows[-window:], rows[:-window]
    first_seq = recent[0][0].seq if recent else None
    update_ = await fold(db, conversation_id, first_seq, mark, older, summarizer)
    if stored and update_ is not None:
        async with db.session() as session:
            await update_.apply(session, conversation_id)
    summary = update_.text if update_ is not None else mark.text
    messages = []
    hidden = superseded([message for message, _ in recent])
    for message, author in recent:
        if message.id in hidden:
            continue
        converted = to_model_message(message, author, agent_id)
        if converted is not None:
            messages.append(converted)
    last_text = next((str(m.text) for m in reversed(messages) if isinstance(m, HumanMessage)), "")
    last_seq = recent[-1][0].seq if recent else 0
    return History(messages, summary, last_seq, last_text, None if stored else update_)


async def read_mark(db: Database, conversation_id: str) -> SummaryMark:
    async with db.read() as session:
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None:
            raise NotFound("conversations", conversation_id)
        return SummaryMark(conversation.summary, conversation.summary_seq or 0)


async def fold(
    db: Database,
    conversation_id: str,
    first_window_seq: int | None,
    mark: SummaryMark,
    older: list[Authored],
    summarizer: Summarizer,
) -> SummaryUpdate | None:
    """The summary with the messages between `mark.seq` and the window folded in (None when
    there is nothing to fold). `older` are messages already read just before the window;
    anything older still is paged in (the first turn after a bulk import)."""
    covered = mark.seq
    if first_window_seq is None or first_window_seq - 1 <= covered:
        return None
    target = first_window_seq - 1
    start = older[0][0].seq if older else first_window_seq
    lines: list[str] = []
    if start > covered + 1:
        lines += await _older_lines(db, conversation_id, covered, start - 1)
    lines += [
        summary_line(message, author)
        for message, author in older
        if covered < message.seq <= target and (message.content or "").strip()
    ]
    text = await summarizer(mark.text, lines) if lines else mark.text
    return SummaryUpdate(covered, target, text)


async def _older_lines(db: Database, conversation_id: str, after: int, target: int) -> list[str]:
    names = await authors(db, conversation_id)
    lines: list[str] = []
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
    return lines
