"""The embeddings endpoint from the settings: the real client against a local server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from runtime.embeddings import attach_embedder, embedder_from_settings
from runtime.settings import Settings
from store.db import Database
from store.embeddings import embedder_for
from tests.scale.fake_openai import app, embed
from tests.support.local_server import LocalServer


@pytest.fixture
def endpoint() -> Iterator[LocalServer]:
    with LocalServer(app) as server:
        yield server


def test_no_url_means_no_embedder() -> None:
    assert embedder_from_settings(Settings(openai_api_key=SecretStr("k"))) is None


async def test_text_goes_to_the_endpoint_as_text(endpoint: LocalServer) -> None:
    """The fake endpoint refuses token ids, as non-OpenAI endpoints may: text must be sent."""
    embedder = embedder_from_settings(
        Settings(memory_embeddings_url=endpoint.base_url, memory_embeddings_model="m")
    )
    assert embedder is not None and embedder.model == "m"
    assert await embedder.embed_query("Ada drives a car") == embed("Ada drives a car")
    both = await embedder.embed_documents(["one fact", "another fact"])
    assert both == [embed("one fact"), embed("another fact")]


async def test_dimensions_are_asked_for_and_name_the_space(endpoint: LocalServer) -> None:
    settings = Settings(
        memory_embeddings_url=endpoint.base_url,
        memory_embeddings_model="m",
        memory_embeddings_dimensions=16,
    )
    embedder = embedder_from_settings(settings)
    assert embedder is not None and embedder.model == "m@16"
    assert len(await embedder.embed_query("hello")) == 16


def test_dimensions_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="memory_embeddings_dimensions"):
        Settings(memory_embeddings_url="http://x/v1", memory_embeddings_dimensions=0)


async def test_attach_makes_the_database_embed(endpoint: LocalServer, db: Database) -> None:
    attached = attach_embedder(db, Settings(memory_embeddings_url=endpoint.base_url))
    assert attached is not None and embedder_for(db) is attached
    assert attach_embedder(db, Settings()) is None
    assert embedder_for(db) is None
