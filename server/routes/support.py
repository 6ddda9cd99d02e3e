"""Support tickets: a student opens them (optionally about a module) and sees their own;
staff see and close everyone's. Status is `open` or `closed`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from server.deps import CurrentUser, DatabaseDep
from server.errors import not_found
from server.routes.kpi_support import fields_named
from server.schemas.kpis import TicketCreate, TicketPublic, TicketUpdate
from store.analytics import SupportTickets

router = APIRouter(prefix="/api/support", tags=["support"])


@router.post("/tickets", status_code=status.HTTP_201_CREATED, response_model=TicketPublic)
async def open_ticket(body: TicketCreate, user: CurrentUser, db: DatabaseDep) -> Any:
    with fields_named():
        return await SupportTickets(db).create(
            user.id, created_by=user.id, **body.model_dump(exclude_unset=True)
        )


@router.get("/tickets", response_model=list[TicketPublic])
async def list_tickets(
    user: CurrentUser,
    db: DatabaseDep,
    status_filter: Annotated[str | None, Query(alias="status", pattern="^(open|closed)$")] = None,
    everyone: Annotated[bool, Query(alias="all", description="staff: every student's")] = False,
) -> Any:
    tickets = SupportTickets(db)
    return await tickets.listing(
        None if everyone and user.is_staff else user.id, status=status_filter
    )


@router.patch("/tickets/{ticket_id}", response_model=TicketPublic)
async def update_ticket(
    ticket_id: str, body: TicketUpdate, user: CurrentUser, db: DatabaseDep
) -> Any:
    tickets = SupportTickets(db)
    ticket = await tickets.get(ticket_id)
    if ticket.user_id != user.id and not user.is_staff:
        raise not_found("support_tickets")
    return await tickets.update(ticket_id, status=body.status, updated_by=user.id)
