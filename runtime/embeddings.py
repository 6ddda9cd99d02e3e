"""The embeddings endpoint memories use, built from the settings and attached to the database.

Any OpenAI-compatible `/v1/embeddings` endpoint works (OpenAI, vLLM, Ollama, a local server),
through `langchain-openai`'s `OpenAIEmbeddings`. Text is sent as text, never as token ids: the
endpoint need not be OpenAI's, and no tokenizer has to be downloaded.
"""

from __future__ import annotations

from langchain_openai import OpenAIEmbeddings
from pydantic import SecretStr

from runtime.settings import Settings
from store.db import Database
from store.embeddings import use_embedder


class OpenAIEmbedder:
    """An `Embedder` (see `store/embeddings.py`) over `OpenAIEmbeddings`."""

    def __init__(self, client: OpenAIEmbeddings, model: str) -> None:
        self.client, self.model = client, model

    async def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return await self.client.aembed_documents(texts)

    async def embed_query(self, text: str) -> list[float]:
        return await self.client.aembed_query(text)


def embedder_from_settings(settings: Settings) -> OpenAIEmbedder | None:
    """The configured embedder, or None when `memory_embeddings_url` is unset."""
    if not settings.memory_embeddings_url:
        return None
    key = settings.memory_embeddings_api_key or settings.openai_api_key or SecretStr("unused")
    client = OpenAIEmbeddings(
        model=settings.memory_embeddings_model,
        base_url=settings.memory_embeddings_url,
        api_key=key,
        dimensions=settings.memory_embeddings_dimensions,
        timeout=settings.memory_embeddings_timeout_seconds,
        max_retries=1,
        check_embedding_ctx_length=False,
    )
    # The space is named by endpoint, model and size: vectors of two of them never compare.
    space = settings.memory_embeddings_model
    if settings.memory_embeddings_dimensions:
        space += f"@{settings.memory_embeddings_dimensions}"
    return OpenAIEmbedder(client, space)


def attach_embedder(db: Database, settings: Settings) -> OpenAIEmbedder | None:
    """Make every `Memories(db)` of this process embed with the configured endpoint."""
    embedder = embedder_from_settings(settings)
    use_embedder(db, embedder)
    return embedder
