"""Only domain errors leave the store: duplicates are Conflict, broken rows InvalidValue."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from store import crud
from store.db import Database
from store.errors import Conflict, InvalidValue, NotFound, StoreError, integrity_conflict
from store.models import Agent, Group, Tool, User
from store.tools import Tools
from store.turns import Turns
from store.users import Users
from tests.store import factories


async def test_duplicate_unique_key_is_a_conflict(db: Database) -> None:
    await factories.user(db, email="ada@example.com")
    with pytest.raises(Conflict) as caught:
        await factories.user(db, email="ada@example.com")
    assert caught.value.code == "conflict"
    assert caught.value.table == "users"
    assert isinstance(caught.value.__cause__, IntegrityError)

    await factories.agent(db, handle="scout")
    with pytest.raises(Conflict, match="agents"):
        await factories.agent(db, handle="scout")
    await crud.insert(db, Tool(name="search"))
    with pytest.raises(Conflict, match="tools"):
        await crud.insert(db, Tool(name="search"))


async def test_missing_reference_is_invalid(db: Database) -> None:
    with pytest.raises(InvalidValue) as caught:
        await crud.insert(db, Group(name="Team", owner_id="no-such-user"))
    assert caught.value.code == "invalid_value"
    assert (caught.value.table, caught.value.field) == ("groups", "owner_id")
    assert str(caught.value) == (
        "groups.owner_id: 'no-such-user' is not allowed; expected the id of an existing users row"
    )


async def test_missing_required_value_is_invalid_and_names_the_column(db: Database) -> None:
    with pytest.raises(InvalidValue) as caught:
        await crud.insert(db, User(email="nameless@example.com"))
    assert caught.value.table == "users"
    assert caught.value.field == "name"


async def test_unknown_field_and_unknown_row(db: Database) -> None:
    with pytest.raises(InvalidValue, match=r"agents\.colour: 'red'"):
        crud.build(Agent, name="x", colour="red")
    with pytest.raises(NotFound) as caught:
        await crud.get(db, Agent, "01ABSENT")
    assert (caught.value.table, caught.value.value) == ("agents", "01ABSENT")
    assert str(caught.value) == "agents with id='01ABSENT' not found"
    with pytest.raises(NotFound):
        await crud.update(db, Agent, "01ABSENT", name="y")


@pytest.mark.parametrize(
    ("driver_message", "kind", "field"),
    [
        ('duplicate key value violates unique constraint "uq_tools_name"', Conflict, None),
        ("UNIQUE constraint failed: tools.name", Conflict, None),
        (
            'new row for relation "agents" violates check constraint "ck_agents_kind_allowed"',
            InvalidValue,
            "ck_agents_kind_allowed",
        ),
        ("CHECK constraint failed: ck_agents_kind_allowed", InvalidValue, "ck_agents_kind_allowed"),
        (
            'null value in column "name" of relation "agents" violates not-null constraint',
            InvalidValue,
            "name",
        ),
        ("NOT NULL constraint failed: agents.name", InvalidValue, "name"),
        ("FOREIGN KEY constraint failed", InvalidValue, "row"),
    ],
)
def test_integrity_conflict_reads_both_drivers(
    driver_message: str, kind: type[StoreError], field: str | None
) -> None:
    error = integrity_conflict("agents", Exception(driver_message))
    assert type(error) is kind
    assert error.table == "agents"  # type: ignore[attr-defined]
    if field is not None:
        assert error.field == field  # type: ignore[attr-defined]


async def test_rows_naming_a_missing_parent_fail_with_domain_errors(db) -> None:
    """Turns, tool-call records and tokens for rows that do not exist: no driver exception."""
    with pytest.raises(InvalidValue):
        await Turns(db).start("01NOSUCHCONVERSATION000000", "01NOSUCHAGENT0000000000000")
    with pytest.raises(InvalidValue):
        await Tools(db).record_call(
            "remember", status="refused", turn_id="01NOSUCHTURN00000000000000"
        )
    with pytest.raises(InvalidValue):
        await Users(db).issue_token("01NOSUCHUSER00000000000000", 60)
