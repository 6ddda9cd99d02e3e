"""The versioned Foundation: validation naming the field, field-by-field merge, history with
old and new values, completeness, and concurrent first saves."""

from __future__ import annotations

import asyncio

import pytest

from store.db import Database
from store.elevate import Foundations as PlainFoundations
from store.errors import InvalidValue
from store.foundation import FIELDS, Foundations, completeness
from tests.store import factories


async def test_wrong_types_are_refused_naming_the_field(db: Database) -> None:
    student = await factories.user(db)
    foundations = Foundations(db)
    cases = [
        ({"customer_avatar": {"pains": "x"}}, "customer_avatar.pains"),
        ({"customer_avatar": {"pains": [1]}}, "customer_avatar.pains.0"),
        (
            {"market_awareness": {"competitors": [{"name": "A"}]}},
            "market_awareness.competitors.0.weakness",
        ),
        ({"company_context": {"colour": "teal"}}, "company_context.colour"),
        ({"strategic_blueprint_summary": 5}, "strategic_blueprint_summary"),
    ]
    for patch, field in cases:
        with pytest.raises(InvalidValue) as raised:
            await foundations.update(student.id, patch)
        assert raised.value.field == field
    assert await foundations.find(student.id) is None
    with pytest.raises(InvalidValue, match=r"customer_avatar\.pains"):
        await PlainFoundations(db).upsert(student.id, customer_avatar={"pains": "x"})


async def test_merge_field_by_field_with_history_and_completeness(db: Database) -> None:
    student = await factories.user(db)
    foundations = Foundations(db)
    row, first = await foundations.update(
        student.id,
        {"company_context": {"core_offers": "Tea", "business_name": "Leaf"}},
        by_user_id=student.id,
    )
    assert first is not None and row.version == 1
    row, same = await foundations.update(student.id, {"company_context": {"core_offers": "Tea"}})
    assert same is None and row.version == 1  # nothing changed: no version
    row, second = await foundations.update(
        student.id,
        {"company_context": {"core_offers": None}, "customer_avatar": {"pains": ["Cold"]}},
    )
    assert row.company_context == {"business_name": "Leaf"}  # null clears, the rest stays
    assert row.version == 2
    assert second.changes == [
        {"path": "company_context.core_offers", "label": "Core offers", "old": "Tea", "new": None},
        {"path": "customer_avatar.pains", "label": "Customer pains", "old": None, "new": ["Cold"]},
    ]
    assert [v.version for v in await foundations.history(student.id)] == [2, 1]
    score = completeness(row)
    assert score["sections"]["company_context"] == round(1 / 9, 3)
    assert score["sections"]["customer_avatar"] == round(1 / 7, 3)
    assert score["overall"] == round(2 / len(FIELDS), 3)


async def test_concurrent_first_saves_give_gap_free_versions(db: Database) -> None:
    student = await factories.user(db)
    foundations = Foundations(db)
    await asyncio.gather(
        *(
            foundations.update(student.id, {"strategic_blueprint_summary": f"v{i}"})
            for i in range(4)
        )
    )
    versions = [v.version for v in await foundations.history(student.id)]
    assert versions == [4, 3, 2, 1]
    assert (await foundations.find(student.id)).version == 4
