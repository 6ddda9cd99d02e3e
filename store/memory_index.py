"""Full-text search over memories on the database's own index.

SQLite: an FTS5 table `memories_fts` over `content` and `tags` (external content: it indexes
the `memories` rows by rowid and stores no second copy), kept in step by triggers on insert,
update and delete, ranked by FTS5's `bm25()`. PostgreSQL: a generated `tsvector` column
`search_vector` with a GIN index, ranked by `ts_rank_cd`. Both stem English words.

User text never reaches either query language as syntax. The query is cut into words (letters
and digits only, stop words dropped); on SQLite each word becomes an FTS5 string literal in
double quotes, so `OR`, `NEAR`, `*`, `-` or parentheses are only ever words to look for; on
PostgreSQL each word is its own bound parameter to `plainto_tsquery`, which reads no operators.
A query matches memories that share any word with it, as the old ranking did.
"""

from __future__ import annotations

import re

from sqlalchemy import bindparam, column, func, literal_column, select, table, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from store.models import Memory

FTS_TABLE = "memories_fts"
FTS_TRIGGERS = ("memories_fts_insert", "memories_fts_delete", "memories_fts_update")
SEARCH_COLUMN = "search_vector"
SEARCH_INDEX = "ix_memories_search"
TEXT_SEARCH_CONFIG = "english"
MAX_QUERY_WORDS = 32

_STOPWORD_TEXT = (
    "a an and are as at be by for from has have i in is it its me my of on or our so "
    "that the their them they this to was we were what when where which who will with you your"
)
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

_FTS = table(FTS_TABLE, column("rowid"))


def query_words(query: str) -> list[str]:
    """The words of `query` worth looking for: lower-cased, stop words dropped, each once, at
    most `MAX_QUERY_WORDS` (a pasted essay is not a longer search, only a slower one)."""
    seen: dict[str, None] = {}
    for word in re.findall(r"[^\W_]+", query.lower()):
        if word not in STOPWORDS:
            seen.setdefault(word, None)
    return list(seen)[:MAX_QUERY_WORDS]


def fts5_query(words: list[str]) -> str:
    """An FTS5 MATCH expression: each word a quoted string (quotes doubled), joined by OR."""
    return " OR ".join('"' + word.replace('"', '""') + '"' for word in words)


def is_index_object(name: str | None) -> bool:
    """Whether a table, column or index belongs to the search index rather than to a model
    (FTS5's shadow tables included), so schema comparisons leave it out."""
    if not name:
        return False
    return name in (SEARCH_COLUMN, SEARCH_INDEX) or name.startswith(FTS_TABLE)


async def text_matches(
    session: AsyncSession, visible: ColumnElement[bool], words: list[str], limit: int
) -> list[tuple[Memory, float]]:
    """The `limit` visible memories that best match `words`, with their relevance, best first;
    relevance is positive and larger is better, comparable only within one call."""
    if not words:
        return []
    if session.bind.dialect.name == "postgresql":
        return await _postgres_matches(session, visible, words, limit)
    return await _sqlite_matches(session, visible, words, limit)


async def _sqlite_matches(
    session: AsyncSession, visible: ColumnElement[bool], words: list[str], limit: int
) -> list[tuple[Memory, float]]:
    fts = literal_column(FTS_TABLE)
    # bm25() is negative, more negative for better matches.
    relevance = (-func.bm25(fts)).label("relevance")
    query = (
        select(Memory, relevance)
        .select_from(Memory)
        .join(_FTS, _FTS.c.rowid == literal_column("memories.rowid"))
        .where(fts.op("MATCH")(bindparam("fts_query", fts5_query(words))), visible)
        .order_by(relevance.desc(), Memory.created_at.desc(), Memory.id.desc())
        .limit(limit)
    )
    return [(row.Memory, float(row.relevance)) for row in await session.execute(query)]


async def _postgres_matches(
    session: AsyncSession, visible: ColumnElement[bool], words: list[str], limit: int
) -> list[tuple[Memory, float]]:
    config = literal_column(f"'{TEXT_SEARCH_CONFIG}'::regconfig")
    parts = [func.plainto_tsquery(config, bindparam(f"word_{n}", w)) for n, w in enumerate(words)]
    tsquery = parts[0]
    for part in parts[1:]:
        tsquery = tsquery.op("||")(part)
    document = literal_column(f"memories.{SEARCH_COLUMN}")
    relevance = func.ts_rank_cd(document, tsquery).label("relevance")
    query = (
        select(Memory, relevance)
        .where(document.op("@@")(tsquery), visible)
        .order_by(relevance.desc(), Memory.created_at.desc(), Memory.id.desc())
        .limit(limit)
    )
    return [(row.Memory, float(row.relevance)) for row in await session.execute(query)]


async def rebuild(session: AsyncSession) -> None:
    """Rebuild the SQLite index from the `memories` rows (after a VACUUM, which may renumber
    the rowids it is keyed by). PostgreSQL's generated column never needs it."""
    if session.bind.dialect.name != "postgresql":
        await session.execute(text(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')"))
