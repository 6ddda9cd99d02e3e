"""Repositories of the analytics tables: support tickets, feedback, A/B tests, customers and
their journey events. Every row belongs to a student (`user_id`), so each repository creates
rows for a user and lists a user's rows, oldest first."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from sqlalchemy import func, select

from store import crud
from store.base import utcnow
from store.db import Database
from store.errors import InvalidValue
from store.journeys import refresh_rollup
from store.models import AbTest, Customer, CustomerJourneyEvent, SupportTicket, UserFeedback

Row = TypeVar("Row", SupportTicket, UserFeedback, AbTest, Customer, CustomerJourneyEvent)

CSAT_RANGE = (1, 5)
NPS_RANGE = (0, 10)
TICKET_STATUSES = ("open", "closed")


class _UserRows(Generic[Row]):
    model: type[Row]

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, user_id: str, **fields: Any) -> Row:
        self._validate(fields)
        return await crud.insert(self.db, crud.build(self.model, user_id=user_id, **fields))

    async def get(self, row_id: str) -> Row:
        return await crud.get(self.db, self.model, row_id)

    async def update(self, row_id: str, **fields: Any) -> Row:
        self._validate(fields)
        return await crud.update(self.db, self.model, row_id, updated_at=utcnow(), **fields)

    async def list_for_user(self, user_id: str, limit: int = 500) -> list[Row]:
        model: Any = self.model
        query = (
            select(model)
            .where(model.user_id == user_id)
            .order_by(model.id)
            .limit(max(1, min(limit, 5000)))
        )
        return await crud.scalars(self.db, query)

    def _validate(self, fields: dict[str, Any]) -> None:
        """Checks the database cannot express; subclasses add theirs."""


class SupportTickets(_UserRows[SupportTicket]):
    """Questions students raise, optionally about a module; `open` or `closed`."""

    model = SupportTicket

    def _validate(self, fields: dict[str, Any]) -> None:
        status = fields.get("status")
        if status is not None and status not in TICKET_STATUSES:
            raise InvalidValue("support_tickets", "status", status, "open or closed")

    async def listing(
        self, user_id: str | None, *, status: str | None = None, limit: int = 500
    ) -> list[SupportTicket]:
        """One student's tickets (everyone's with `user_id` None), newest first."""
        query = select(SupportTicket)
        if user_id is not None:
            query = query.where(SupportTicket.user_id == user_id)
        if status is not None:
            query = query.where(SupportTicket.status == status)
        query = query.order_by(SupportTicket.id.desc()).limit(max(1, min(limit, 5000)))
        return await crud.scalars(self.db, query)


class Feedback(_UserRows[UserFeedback]):
    """CSAT (1 to 5) and NPS (0 to 10) answers, and self-reported results."""

    model = UserFeedback

    def _validate(self, fields: dict[str, Any]) -> None:
        for name, (low, high) in (("csat", CSAT_RANGE), ("nps", NPS_RANGE)):
            value = fields.get(name)
            if value is not None and not low <= value <= high:
                raise InvalidValue("user_feedback", name, value, f"a number from {low} to {high}")


class AbTests(_UserRows[AbTest]):
    """A/B test variants' exposures and conversions (the significance test reads these)."""

    model = AbTest

    async def record(
        self,
        user_id: str,
        test_name: str,
        variant: str,
        exposures: int,
        conversions: int,
        **fields: Any,
    ) -> AbTest:
        """Store a variant's result; a second record of the same variant replaces the first
        in place (so the first variant recorded stays the control)."""
        if exposures < 0:
            raise InvalidValue("ab_tests", "exposures", exposures, "a count of 0 or more")
        if not 0 <= conversions <= exposures:
            raise InvalidValue(
                "ab_tests", "conversions", conversions, f"a count from 0 to exposures ({exposures})"
            )
        values = {"exposures": exposures, "conversions": conversions, **fields}
        async with crud.writing(self.db, "ab_tests") as session:
            row = await session.scalar(
                select(AbTest).where(
                    AbTest.user_id == user_id,
                    AbTest.test_name == test_name,
                    AbTest.variant == variant,
                )
            )
            if row is None:
                row = crud.build(AbTest, user_id=user_id, test_name=test_name, variant=variant)
                session.add(row)
            else:
                values["updated_at"] = utcnow()
            crud.assign(row, **values)
            await session.flush()
        return row

    async def names(self, user_id: str) -> list[str]:
        """The student's test names, by first result recorded."""
        query = (
            select(AbTest.test_name)
            .where(AbTest.user_id == user_id)
            .group_by(AbTest.test_name)
            .order_by(func.min(AbTest.id))
        )
        return await crud.scalars(self.db, query)

    async def for_test(self, user_id: str, test_name: str) -> list[AbTest]:
        query = (
            select(AbTest)
            .where(AbTest.user_id == user_id, AbTest.test_name == test_name)
            .order_by(AbTest.id)
        )
        return await crud.scalars(self.db, query)


class Customers(_UserRows[Customer]):
    """A student's end customers."""

    model = Customer


class JourneyEvents(_UserRows[CustomerJourneyEvent]):
    """Customers' steps through a student's funnel."""

    model = CustomerJourneyEvent

    async def create(self, user_id: str, **fields: Any) -> CustomerJourneyEvent:
        """Record an event for one of this user's customers (someone else's is NotFound)."""
        customer_id = fields.get("customer_id")
        if customer_id is None:
            raise InvalidValue("customer_journey_events", "customer_id", None, "a customer id")
        await crud.get(self.db, Customer, customer_id, user_id=user_id)
        fields.setdefault("timestamp", utcnow())
        row = crud.build(CustomerJourneyEvent, user_id=user_id, **fields)
        async with crud.writing(self.db, "customer_journey_events") as session:
            await crud.add(session, row)
            await refresh_rollup(session, [customer_id])
        return row

    async def for_customer(self, customer_id: str) -> list[CustomerJourneyEvent]:
        query = (
            select(CustomerJourneyEvent)
            .where(CustomerJourneyEvent.customer_id == customer_id)
            .order_by(CustomerJourneyEvent.timestamp, CustomerJourneyEvent.id)
        )
        return await crud.scalars(self.db, query)
