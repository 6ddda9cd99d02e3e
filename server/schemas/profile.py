"""One's own profile, password and sessions on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from server.schemas.base import In, Out, keep_unset

MAX_PREFERENCES = 20


def _preferences(value: dict[str, bool]) -> dict[str, bool]:
    if len(value) > MAX_PREFERENCES:
        raise ValueError(f"at most {MAX_PREFERENCES} channels")
    for key in value:
        if not 1 <= len(key) <= 40:
            raise ValueError("channel names are 1 to 40 characters")
    return value


# Per channel, whether the person wants to hear from us there ({"email": true, "sms": false}).
Preferences = Annotated[dict[str, bool], AfterValidator(_preferences)]


class ProfilePublic(Out):
    id: str
    name: str
    email: str
    image: str | None = None
    phone: str | None = None
    address: str | None = None
    company: str | None = None
    marketing_consent: bool | None = None
    preferred_channel: str | None = None
    communication_preferences: dict[str, Any] | None = None
    is_staff: bool = False
    created_at: datetime


class ProfileUpdate(In):
    """A PATCH: the name can change but not be cleared; the other fields accept `null`."""

    name: Annotated[str, Field(min_length=1, max_length=200)] = keep_unset()
    phone: Annotated[str, Field(max_length=64)] | None = None
    address: Annotated[str, Field(max_length=1000)] | None = None
    company: Annotated[str, Field(max_length=200)] | None = None
    marketing_consent: bool | None = None
    preferred_channel: Annotated[str, Field(max_length=64)] | None = None
    communication_preferences: Preferences | None = None


class PasswordChange(In):
    current_password: Annotated[str, Field(min_length=1, max_length=256)]
    new_password: Annotated[str, Field(min_length=8, max_length=256)]


class PasswordChanged(Out):
    revoked_sessions: int


class SessionPublic(Out):
    id: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None = None
    user_agent: str | None = None
    current: bool = False
