"""People search, for adding participants and group members."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from server.deps import CurrentUser, UsersDep
from server.schemas.users import UserBrief

router = APIRouter(prefix="/api/users", tags=["users"])


@router.get("", response_model=list[UserBrief])
async def search_users(
    user: CurrentUser,
    users: UsersDep,
    query: Annotated[str, Query(max_length=200)] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[UserBrief]:
    found = await users.search(query, limit)
    needle = query.strip().lower()
    # Addresses are shown only to someone who already typed them in full.
    return [
        UserBrief(id=u.id, name=u.name, email=u.email if u.email.lower() == needle else None)
        for u in found
    ]
