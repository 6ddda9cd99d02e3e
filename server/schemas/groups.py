"""Groups and members on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, model_validator

from server.schemas.base import In, Out

RoleName = Literal["admin", "member", "observer"]


class GroupCreate(In):
    name: Annotated[str, Field(min_length=1, max_length=200)]


class GroupUpdate(In):
    name: Annotated[str, Field(min_length=1, max_length=200)]


class GroupPublic(Out):
    id: str
    name: str
    owner_id: str
    created_at: datetime
    role: str | None = None


class MemberCreate(In):
    kind: Literal["user", "agent"]
    user_id: str | None = None
    agent_id: str | None = None
    role: RoleName = "member"

    @model_validator(mode="after")
    def _one_id(self) -> MemberCreate:
        wanted, other = ("user_id", "agent_id") if self.kind == "user" else ("agent_id", "user_id")
        if not getattr(self, wanted) or getattr(self, other):
            raise ValueError(f"a {self.kind} member needs `{wanted}` (and no `{other}`)")
        return self


class MemberUpdate(In):
    role: RoleName


class MemberPublic(Out):
    id: str
    group_id: str
    kind: str
    user_id: str | None = None
    agent_id: str | None = None
    role: str | None = None
    added_by: str
    added_at: datetime
    name: str | None = None
    handle: str | None = None
