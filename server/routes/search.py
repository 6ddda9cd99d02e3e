"""Search the messages one may read: `GET /api/search?q=`.

The index and the access rule are the store's (`store/search.py`); here the snippet becomes
HTML that is safe to insert: everything escaped except the `<mark>` around each match.
"""

from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Query

from server.deps import CurrentUser, DatabaseDep
from server.errors import ApiError
from server.schemas.message_edits import SearchHit, SearchResults
from server.transcript import names
from store.db import Database
from store.search import HIT_END, HIT_START, MAX_RESULTS, Hit, Search, terms

router = APIRouter(prefix="/api", tags=["search"])
MAX_QUERY_CHARS = 200


def snippet_html(snippet: str) -> str:
    """The snippet escaped as HTML, its matches wrapped in `<mark>` (the only markup)."""
    escaped = html.escape(snippet, quote=True)
    return escaped.replace(HIT_START, "<mark>").replace(HIT_END, "</mark>")


async def _authors(db: Database, hits: list[Hit]) -> dict[str, dict[str, object]]:
    rows = await Search(db).authors(hits)
    labels = await names(db, rows)
    return {p.id: {"participant_id": p.id, "kind": p.kind, **labels.get(p.id, {})} for p in rows}


@router.get("/search", response_model=SearchResults)
async def search_messages(
    user: CurrentUser,
    db: DatabaseDep,
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_CHARS)],
    conversation_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_RESULTS)] = 20,
) -> SearchResults:
    """Messages matching every word of `q` (each as a prefix), newest first, only in
    conversations the caller may read; deleted messages never match, edited ones by their
    current text."""
    words = terms(q)
    if not words:
        raise ApiError(
            400, "invalid_request", "the query has no words to search for (letters or digits)"
        )
    hits = await Search(db).messages(user.id, q, conversation_id=conversation_id, limit=limit)
    authors = await _authors(db, hits)
    return SearchResults(
        query=q,
        terms=words,
        results=[
            SearchHit(
                conversation_id=h.conversation_id,
                conversation_title=h.conversation_title,
                message_id=h.message_id,
                seq=h.seq,
                author=authors.get(h.author_participant_id or ""),
                snippet=snippet_html(h.snippet),
                created_at=h.created_at,
                edited_at=h.edited_at,
            )
            for h in hits
        ],
    )
