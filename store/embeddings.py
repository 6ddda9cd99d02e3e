"""Which embedder a database's memories use: set once by the process that opens the database.

The store never speaks HTTP: the runtime builds an `Embedder` from its settings (an
OpenAI-compatible `/v1/embeddings` endpoint) and attaches it to the `Database` here, so every
`Memories(db)` (the memory tools, the recall before a turn) embeds with it without passing it
through every caller. No embedder attached: recall is full-text and recency only.
"""

from __future__ import annotations

import weakref
from typing import Protocol

from store.db import Database


class Embedder(Protocol):
    """Turns text into vectors; `model` names the vectors' space (vectors of two models are
    never compared)."""

    model: str

    async def embed_documents(self, texts: list[str]) -> list[list[float]]: ...

    async def embed_query(self, text: str) -> list[float]: ...


_embedders: weakref.WeakKeyDictionary[Database, Embedder] = weakref.WeakKeyDictionary()


def use_embedder(db: Database, embedder: Embedder | None) -> None:
    """Embed `db`'s memories with `embedder` from now on (None: stop embedding)."""
    if embedder is None:
        _embedders.pop(db, None)
    else:
        _embedders[db] = embedder


def embedder_for(db: Database) -> Embedder | None:
    """The embedder attached to `db`, if any."""
    return _embedders.get(db)
