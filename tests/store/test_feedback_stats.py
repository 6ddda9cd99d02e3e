"""CSAT and NPS with their counts, per student and per module."""

from __future__ import annotations

import pytest

from store.analytics import Feedback
from store.db import Database
from store.feedback_stats import feedback_by_module, feedback_summary
from tests.store import factories


async def test_csat_and_nps_from_hand_counted_answers(db: Database) -> None:
    ada, bob = await factories.user(db), await factories.user(db, "Bob")
    hook, gift = await factories.module(db, 1, "Hook"), await factories.module(db, 2, "Gift")
    feedback = Feedback(db)
    # CSAT 5, 4, 3, 2: two of four are 4 or 5 -> 50%.
    # NPS 10, 9, 8, 6, 0: promoters 2, passives 1, detractors 2 -> (2 - 2) / 5 = 0.
    for csat, nps in [(5, 10), (4, 9), (3, 8), (2, 6), (None, 0)]:
        await feedback.create(ada.id, module_id=hook.id, csat=csat, nps=nps)
    # Gift: NPS 10, 9, 7 -> (2 - 0) / 3 = 66.7; no CSAT answers -> null.
    for nps in (10, 9, 7):
        await feedback.create(ada.id, module_id=gift.id, nps=nps)
    await feedback.create(bob.id, module_id=hook.id, csat=1, nps=0)

    mine = await feedback_summary(db, user_id=ada.id, module_id=hook.id)
    assert mine == {
        "responses": 5,
        "csat": 50.0,
        "nps": 0.0,
        "promoters": 2,
        "passives": 1,
        "detractors": 2,
        "csat_answers": 4,
        "nps_answers": 5,
    }
    gift_scores = await feedback_summary(db, user_id=ada.id, module_id=gift.id)
    assert gift_scores["csat"] is None and gift_scores["nps"] == pytest.approx(200 / 3)
    overall = await feedback_summary(db, user_id=ada.id)
    assert overall["responses"] == 8 and overall["nps"] == pytest.approx(100 * (4 - 2) / 8)
    everyone = await feedback_by_module(db)
    assert everyone[hook.id]["responses"] == 6 and everyone[hook.id]["csat"] == 40.0
    assert (await feedback_summary(db, user_id=bob.id, module_id=gift.id))["responses"] == 0
