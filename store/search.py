"""Full-text search over the messages a person may read, with the database's own index.

PostgreSQL matches a generated `tsvector` column (GIN index); SQLite an FTS5 table that
triggers keep in step (migration 0013). Either way the index follows every write, edits and
deletes included, because the database maintains it, not the code that writes.

The searcher's text never reaches the query language as syntax: it is cut into words (letters
and digits only), and each word becomes a quoted prefix term, all of them required. Hits come
newest first with a snippet whose matches are between `HIT_START` and `HIT_END`, characters
from Unicode's private use area (removed from the text first, so a message cannot fake one);
the server escapes the rest and turns those into marks.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, column, func, literal_column, or_, select, table, text

from store.db import Database
from store.models import Conversation, ConversationParticipant, GroupMember
from store.models import ConversationMessage as Message

HIT_START, HIT_END = "\ue000", "\ue001"
MAX_TERMS = 12
MAX_RESULTS = 50
SNIPPET_WORDS = 16
# What the index adds to the schema outside the models (migration 0013), so that schema
# checks can tell it from drift: SQLite's FTS5 table (and its shadow tables) and key map,
# PostgreSQL's generated column and its index.
SEARCH_TABLE_PREFIX = "message_search"
SEARCH_COLUMN = "search_vector"
SEARCH_INDEX = "ix_conversation_messages_search"

_WORD = re.compile(r"[^\W_]+")
_messages = Message.__table__
_conversations = Conversation.__table__
# SQLite's FTS5 table and its key map, which no model declares.
_fts = table(SEARCH_TABLE_PREFIX, column("rowid"), column("content"))
_keys = table(f"{SEARCH_TABLE_PREFIX}_keys", column("key"), column("message_id"))


@dataclass(frozen=True)
class Hit:
    """One message found: where it is, who wrote it, and the snippet around the matches."""

    message_id: str
    conversation_id: str
    conversation_title: str
    seq: int
    author_participant_id: str | None
    snippet: str
    created_at: datetime
    edited_at: datetime | None


def terms(query: str) -> list[str]:
    """The words of a query, lower-cased, at most `MAX_TERMS`; nothing else of it is kept."""
    return [word.lower() for word in _WORD.findall(query)][:MAX_TERMS]


def _fold(word: str) -> str:
    """A word as the indexes compare it: lower case, without diacritics."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def snippet(content: str, words: list[str], width: int = SNIPPET_WORDS) -> str:
    """About `width` words of `content` around the first match, every word that starts
    with a query word between `HIT_START` and `HIT_END`. Built here rather than by the
    database so that both backends show the same text (PostgreSQL's `ts_headline` drops
    anything that looks like a tag, which is not what a person wrote)."""
    content = content.replace(HIT_START, "").replace(HIT_END, "")
    wanted = [_fold(word) for word in words]
    tokens = list(_WORD.finditer(content))
    if not tokens:
        return content[:200]
    hits = [i for i, t in enumerate(tokens) if any(_fold(t.group()).startswith(w) for w in wanted)]
    first = max(0, (hits[0] if hits else 0) - width // 4)
    last = min(len(tokens), first + width)
    start = tokens[first].start() if first > 0 else 0
    end = tokens[last - 1].end() if last < len(tokens) else len(content)
    parts, position = [], start
    for index in (i for i in hits if first <= i < last):
        token = tokens[index]
        parts += [content[position : token.start()], HIT_START, token.group(), HIT_END]
        position = token.end()
    parts.append(content[position:end])
    return ("…" if start > 0 else "") + "".join(parts) + ("…" if end < len(content) else "")


def sqlite_match(words: list[str]) -> str:
    """An FTS5 query: each word a quoted prefix term (the words hold no quote to escape)."""
    return " ".join(f'"{word}"*' for word in words)


def postgres_tsquery(words: list[str]) -> str:
    """A `to_tsquery` text: each word a prefix term, all required."""
    return " & ".join(f"{word}:*" for word in words)


def readable_conversations(user_id: str) -> Select[Any]:
    """Ids of the conversations `user_id` may read, by the rule of `Conversations.access`: a
    participant's own row (unless removed), or membership of the conversation's group."""
    mine = select(ConversationParticipant.conversation_id).where(
        ConversationParticipant.user_id == user_id,
        ConversationParticipant.is_removed.is_(False),
    )
    groups = select(GroupMember.group_id).where(GroupMember.user_id == user_id)
    removed = select(ConversationParticipant.conversation_id).where(
        ConversationParticipant.user_id == user_id,
        ConversationParticipant.is_removed.is_(True),
    )
    return select(Conversation.id).where(
        or_(Conversation.id.in_(mine), Conversation.group_id.in_(groups)),
        Conversation.id.not_in(removed),
    )


class Search:
    """Repository of the message search index."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def messages(
        self,
        user_id: str,
        query: str,
        *,
        conversation_id: str | None = None,
        limit: int = 20,
    ) -> list[Hit]:
        """Messages matching every word of `query` in conversations `user_id` may read
        (only `conversation_id` when given), newest first. No words: no hits."""
        words = terms(query)
        if not words:
            return []
        statement = self._statement(user_id, words, conversation_id, limit)
        async with self.db.read() as session:
            rows = list(await session.execute(statement))
        return [
            Hit(id_, cid, title, seq, author, snippet(content, words), created, edited)
            for id_, cid, title, seq, author, content, created, edited in rows
        ]

    async def authors(self, hits: list[Hit]) -> list[ConversationParticipant]:
        """The participant rows that wrote these hits (to name them), in one read."""
        ids = sorted({h.author_participant_id for h in hits if h.author_participant_id})
        if not ids:
            return []
        async with self.db.read() as session:
            query = select(ConversationParticipant).where(ConversationParticipant.id.in_(ids))
            return list(await session.scalars(query))

    def _statement(
        self, user_id: str, words: list[str], conversation_id: str | None, limit: int
    ) -> Select[Any]:
        if self.db.dialect == "postgresql":
            query = func.to_tsquery("simple", postgres_tsquery(words))
            source = _messages.join(
                _conversations, _conversations.c.id == _messages.c.conversation_id
            )
            matches = literal_column(f"conversation_messages.{SEARCH_COLUMN}").op("@@")(query)
        else:
            source = (
                _fts.join(_keys, _keys.c.key == _fts.c.rowid)
                .join(_messages, _messages.c.id == _keys.c.message_id)
                .join(_conversations, _conversations.c.id == _messages.c.conversation_id)
            )
            matches = text(f"{SEARCH_TABLE_PREFIX} MATCH :match").bindparams(
                match=sqlite_match(words)
            )
        statement = (
            select(
                Message.id,
                Message.conversation_id,
                Conversation.title,
                Message.seq,
                Message.author_participant_id,
                Message.content,
                Message.created_at,
                Message.edited_at,
            )
            .select_from(source)
            .where(
                matches,
                Message.deleted_at.is_(None),
                Message.conversation_id.in_(readable_conversations(user_id)),
            )
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(max(1, min(limit, MAX_RESULTS)))
        )
        if conversation_id is not None:
            statement = statement.where(Message.conversation_id == conversation_id)
        return statement
