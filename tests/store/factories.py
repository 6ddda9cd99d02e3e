"""Tiny row builders for store tests: each inserts one row with sensible defaults."""

from __future__ import annotations

from typing import Any

from store import crud
from store.db import Database
from store.ids import new_id
from store.models import Agent, CourseModule, Group, GroupMember, User


async def user(db: Database, name: str = "Ada", **fields: Any) -> User:
    fields.setdefault("email", f"{name.lower()}-{new_id().lower()}@example.com")
    return await crud.insert(db, User(name=name, **fields))


async def agent(db: Database, name: str = "Helper", **fields: Any) -> Agent:
    fields.setdefault("handle", f"{name.lower()}-{new_id().lower()[-8:]}")
    fields.setdefault("kind", "user_agent")
    return await crud.insert(db, Agent(name=name, **fields))


async def group(db: Database, owner: User, name: str = "Team") -> Group:
    return await crud.insert(db, Group(name=name, owner_id=owner.id))


async def group_member(
    db: Database, group_row: Group, member: User, role: str | None = "member"
) -> GroupMember:
    row = GroupMember(
        group_id=group_row.id,
        kind="user",
        user_id=member.id,
        role=role,
        added_by=group_row.owner_id,
    )
    return await crud.insert(db, row)


async def module(db: Database, number: int = 1, step: str = "Hook") -> CourseModule:
    row = CourseModule(module_number=number, step=step, title=f"Module {number}", objective="Learn")
    return await crud.insert(db, row)
