"""Users and authentication on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from server.schemas.base import In, Out


class UserPublic(Out):
    id: str
    name: str
    email: str
    image: str | None = None
    is_staff: bool = False
    created_at: datetime


class UserBrief(Out):
    """What other people see of a user (search results, participants)."""

    id: str
    name: str
    email: str | None = None


class RegisterIn(In):
    email: Annotated[str, Field(min_length=3, max_length=320)]
    password: Annotated[str, Field(min_length=8, max_length=256)]
    name: Annotated[str, Field(min_length=1, max_length=200)]


class LoginIn(In):
    email: Annotated[str, Field(min_length=1, max_length=320)]
    password: Annotated[str, Field(min_length=1, max_length=256)]


class AuthOut(Out):
    user: UserPublic
    token: str
    expires_at: datetime
