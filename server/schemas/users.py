"""Users and authentication on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field

from server.schemas.base import In, Out
from store.errors import InvalidValue
from store.users import normalise_email


def _email(value: str) -> str:
    try:
        return normalise_email(value)
    except InvalidValue as exc:
        raise ValueError(str(exc).split("expected ", 1)[-1]) from None


# The same check as pydantic's EmailStr (email-validator, no DNS look-up), plus the reserved
# `.test` domain that EmailStr refuses and trial set-ups use.
Email = Annotated[str, Field(min_length=3, max_length=320), AfterValidator(_email)]


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
    email: Email
    password: Annotated[str, Field(min_length=8, max_length=256)]
    name: Annotated[str, Field(min_length=1, max_length=200)]


class LoginIn(In):
    email: Annotated[str, Field(min_length=1, max_length=320)]
    password: Annotated[str, Field(min_length=1, max_length=256)]


class AuthOut(Out):
    user: UserPublic
    token: str
    expires_at: datetime
