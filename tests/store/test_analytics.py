"""The analytics repositories: rows are created for a student and listed per student."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from store.analytics import AbTests, Customers, Feedback, JourneyEvents, SupportTickets
from store.db import Database
from store.errors import InvalidValue, NotFound
from tests.store import factories


async def test_support_tickets_per_user(db: Database) -> None:
    student, other = await factories.user(db), await factories.user(db, "Other")
    module = await factories.module(db)
    tickets = SupportTickets(db)
    ticket = await tickets.create(student.id, module_id=module.id, subject="Stuck", message="Help")
    await tickets.create(other.id, subject="Hi", message="?")
    assert ticket.status == "open"
    closed = await tickets.update(ticket.id, status="closed")
    assert closed.status == "closed" and closed.updated_at is not None
    assert [t.id for t in await tickets.list_for_user(student.id)] == [ticket.id]
    with pytest.raises(InvalidValue, match=r"support_tickets\.module_id"):
        await tickets.create(student.id, module_id="no-such-module", subject="x", message="y")
    with pytest.raises(InvalidValue, match=r"support_tickets\.priority"):
        await tickets.create(student.id, subject="x", message="y", priority="high")
    with pytest.raises(NotFound, match="support_tickets"):
        await tickets.get("no-such-ticket")


async def test_feedback_scores_are_bounded(db: Database) -> None:
    student = await factories.user(db)
    feedback = Feedback(db)
    row = await feedback.create(student.id, csat=5, nps=0, feedback="Great")
    assert (row.csat, row.nps) == (5, 0)
    with pytest.raises(InvalidValue, match=r"user_feedback\.csat: 0"):
        await feedback.create(student.id, csat=0)
    with pytest.raises(InvalidValue, match=r"user_feedback\.nps: 11"):
        await feedback.create(student.id, nps=11)
    assert len(await feedback.list_for_user(student.id)) == 1


async def test_ab_test_observations_by_test(db: Database) -> None:
    student = await factories.user(db)
    tests = AbTests(db)
    for variant, value in [("A", 0.02), ("B", 0.03)]:
        await tests.create(
            student.id, test_name="headline", variant=variant, metric="ctr", value=value
        )
    await tests.create(student.id, test_name="price", variant="A")
    assert [t.variant for t in await tests.for_test(student.id, "headline")] == ["A", "B"]
    assert len(await tests.list_for_user(student.id)) == 3


async def test_customers_and_their_journey(db: Database) -> None:
    student, other = await factories.user(db), await factories.user(db, "Other")
    customers, events = Customers(db), JourneyEvents(db)
    customer = await customers.create(
        student.id, name="Cleo", tags=["vip"], communication_preferences={"email": True}
    )
    when = datetime(2024, 5, 1, 12, tzinfo=UTC)
    opt_in = await events.create(
        student.id, customer_id=customer.id, step="Gift", event_type="opt-in", timestamp=when
    )
    purchase = await events.create(student.id, customer_id=customer.id, step="Sell")
    assert [e.id for e in await events.for_customer(customer.id)] == [opt_in.id, purchase.id]
    assert [e.id for e in await events.list_for_user(student.id)] == [opt_in.id, purchase.id]
    assert (await customers.list_for_user(student.id))[0].tags == ["vip"]
    # Another student cannot log events against this student's customer.
    with pytest.raises(NotFound, match="customers"):
        await events.create(other.id, customer_id=customer.id, step="Sell")
    with pytest.raises(InvalidValue, match="customer_id"):
        await events.create(student.id, step="Sell")
