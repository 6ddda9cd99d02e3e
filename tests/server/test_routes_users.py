"""People search: names match as text, so `%` and `_` cannot be used to list the directory."""

from __future__ import annotations

import pytest

from tests.server.live import Api


async def _names(api: Api, user, query: str) -> list[str]:
    found = await api.ok("GET", "/api/users", user, params={"query": query})
    return [u["name"] for u in found]


@pytest.mark.parametrize("query", ["%%", "__", "%_", "_%", "\\%", "a%", "%e"])
async def test_wildcards_match_only_themselves(api: Api, query: str) -> None:
    alice = await api.register("Alice")
    await api.register("Bob Smith")
    await api.register("Eve")
    assert await _names(api, alice, query) == []


async def test_names_with_wildcard_characters_are_still_found(api: Api) -> None:
    alice = await api.register("Alice")
    await api.register("Ann_Lee")
    await api.register("Annx Lee")
    await api.register("100% Bob")
    assert await _names(api, alice, "n_l") == ["Ann_Lee"]
    assert await _names(api, alice, "0% b") == ["100% Bob"]
    assert await _names(api, alice, "lee") == ["Ann_Lee", "Annx Lee"]
