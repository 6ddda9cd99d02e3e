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
) -> list:
    return await users.search(query, limit)
