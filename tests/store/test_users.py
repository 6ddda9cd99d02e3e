"""Users in the store: addresses are validated and normalised; name search is plain text."""

from __future__ import annotations

import pytest

from store.db import Database
from store.errors import Conflict, InvalidValue
from store.users import Users, normalise_email


@pytest.mark.parametrize("email", ["a@b", "x@y@z", "@example.com", "a@", "a b@example.com", ""])
def test_odd_addresses_are_refused(email: str) -> None:
    with pytest.raises(InvalidValue):
        normalise_email(email)


def test_addresses_are_stored_in_lower_case() -> None:
    assert normalise_email("  Ada.L@Example.COM ") == "ada.l@example.com"
    assert normalise_email("ada@example.test") == "ada@example.test"


async def test_search_treats_wildcards_as_text(db: Database) -> None:
    users = Users(db)
    for name in ("Ada", "Grace_Hopper", "50% Off"):
        await users.create(f"{name[:3].lower()}@example.com", name, "not checked here")
    assert [u.name for u in await users.search("%%")] == []
    assert [u.name for u in await users.search("__")] == []
    assert [u.name for u in await users.search("e_h")] == ["Grace_Hopper"]
    assert [u.name for u in await users.search("0%")] == ["50% Off"]


async def test_a_taken_address_is_a_conflict_that_does_not_name_it(db: Database) -> None:
    users = Users(db)
    await users.create("ada@example.com", "Ada", "pw")
    with pytest.raises(Conflict) as taken:
        await users.create("ADA@example.com", "Other", "pw")
    assert "ada@example.com" not in str(taken.value)
