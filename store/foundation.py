"""A student's Foundation as a validated model, versioned on every change.

The sections follow the seed (`userFoundations`): company context, market awareness (with
competitors as `{name, weakness}`), customer avatar (lists of pains, fears, goals...), and the
strategic blueprint summary. Each field has a path (`customer_avatar.pains`) and a human label
("Customer pains"); playbook templates and required context name fields by path.

Every change, by the student or by an agent through a tool, bumps `version` and stores which
fields changed with their old and new values, in the same transaction as the change and its
activity log row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select

from store import crud
from store.activity import add_activity
from store.base import utcnow
from store.course import touch_step
from store.db import Database
from store.errors import Conflict, InvalidValue
from store.models import UserFoundation, UserFoundationVersion

TABLE = "user_foundations"
SUMMARY = "strategic_blueprint_summary"


class _Section(BaseModel):
    """A section: every field optional (a PATCH sends any subset), unknown names refused,
    types strict so `{"pains": "x"}` is not silently a list."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Competitor(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(min_length=1, max_length=200)
    weakness: str = Field(max_length=2000)


class CompanyContext(_Section):
    business_name: str | None = Field(None, title="Business name", max_length=200)
    core_offers: str | None = Field(None, title="Core offers", max_length=4000)
    unique_mechanism: str | None = Field(None, title="Unique mechanism", max_length=4000)
    value_proposition: str | None = Field(None, title="Value proposition", max_length=4000)
    brand_pillars: str | None = Field(None, title="Brand pillars", max_length=4000)
    brand_voice_adjectives: list[str] | None = Field(None, title="Brand voice", max_length=12)
    positioning_price: str | None = Field(None, title="Price positioning", max_length=2000)
    mission_vision: str | None = Field(None, title="Mission and vision", max_length=4000)
    brand_story_personality: str | None = Field(
        None, title="Brand story and personality", max_length=4000
    )


class MarketAwareness(_Section):
    competitors: list[Competitor] | None = Field(None, title="Competitors", max_length=20)
    differentiation: str | None = Field(None, title="Differentiation", max_length=4000)
    market_trends: str | None = Field(None, title="Market trends", max_length=4000)
    channel_analysis: str | None = Field(None, title="Channel analysis", max_length=4000)


class CustomerAvatar(_Section):
    profile_summary: str | None = Field(None, title="Customer profile", max_length=4000)
    pains: list[str] | None = Field(None, title="Customer pains", max_length=20)
    fears: list[str] | None = Field(None, title="Customer fears", max_length=20)
    goals: list[str] | None = Field(None, title="Customer goals", max_length=20)
    dreams: list[str] | None = Field(None, title="Customer dreams", max_length=20)
    needs: list[str] | None = Field(None, title="Customer needs", max_length=20)
    watering_holes: str | None = Field(None, title="Watering holes", max_length=4000)


class FoundationPatch(BaseModel):
    """Any subset of the sections; inside a section, any subset of its fields (null clears)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    company_context: CompanyContext | None = None
    market_awareness: MarketAwareness | None = None
    customer_avatar: CustomerAvatar | None = None
    strategic_blueprint_summary: str | None = Field(
        None, title="Strategic blueprint summary", max_length=8000
    )


SECTIONS: dict[str, type[_Section]] = {
    "company_context": CompanyContext,
    "market_awareness": MarketAwareness,
    "customer_avatar": CustomerAvatar,
}


@dataclass(frozen=True)
class FoundationField:
    """One fillable field: its path, human label and whether it holds a list."""

    path: str
    label: str
    section: str
    is_list: bool


def _catalogue() -> dict[str, FoundationField]:
    fields: dict[str, FoundationField] = {}
    for section, model in SECTIONS.items():
        for name, info in model.model_fields.items():
            path = f"{section}.{name}"
            is_list = "list" in str(info.annotation)
            fields[path] = FoundationField(path, info.title or name, section, is_list)
    fields[SUMMARY] = FoundationField(SUMMARY, "Strategic blueprint summary", SUMMARY, False)
    return fields


FIELDS = _catalogue()
"""Every Foundation field by path, in form order."""


def label_of(path: str) -> str:
    return FIELDS[path].label


def validate_patch(patch: dict[str, Any]) -> FoundationPatch:
    """The patch as a model, or InvalidValue naming the first field at fault by its path."""
    try:
        return FoundationPatch.model_validate(patch)
    except ValidationError as exc:
        error = exc.errors()[0]
        path = ".".join(str(part) for part in error["loc"])
        raise InvalidValue(TABLE, path or "foundation", error.get("input"), error["msg"]) from exc


def _flat_changes(model: FoundationPatch) -> dict[str, Any]:
    """The fields a patch sets, by path (None clears a field)."""
    changes: dict[str, Any] = {}
    for section in SECTIONS:
        part = getattr(model, section)
        if part is None:
            continue
        for name, value in part.model_dump(exclude_unset=True, mode="json").items():
            changes[f"{section}.{name}"] = value
    if SUMMARY in model.model_fields_set:
        changes[SUMMARY] = model.strategic_blueprint_summary
    return changes


def value_at(row: UserFoundation | None, path: str) -> Any:
    """The stored value at `path` (None when unset or never filled)."""
    if row is None:
        return None
    if path == SUMMARY:
        return row.strategic_blueprint_summary
    section, _, name = path.partition(".")
    return (getattr(row, section) or {}).get(name)


def is_filled(value: Any) -> bool:
    """A value counts as provided when it has content: not None, "", [] or blanks."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list):
        return any(is_filled(v) if not isinstance(v, dict) else True for v in value)
    return True


def public(row: UserFoundation | None) -> dict[str, Any]:
    """The Foundation as the API shows it: empty sections when never filled."""
    return {
        "company_context": dict(row.company_context or {}) if row else {},
        "market_awareness": dict(row.market_awareness or {}) if row else {},
        "customer_avatar": dict(row.customer_avatar or {}) if row else {},
        SUMMARY: row.strategic_blueprint_summary if row else None,
        "version": row.version if row else 0,
        "last_updated_at": row.last_updated_at if row else None,
    }


def completeness(row: UserFoundation | None) -> dict[str, Any]:
    """Per section the share of fields filled (0..1), and overall."""
    sections: dict[str, list[bool]] = {}
    for field in FIELDS.values():
        sections.setdefault(field.section, []).append(is_filled(value_at(row, field.path)))
    score = {name: round(sum(done) / len(done), 3) for name, done in sections.items()}
    flat = [done for values in sections.values() for done in values]
    return {"sections": score, "overall": round(sum(flat) / len(flat), 3)}


class Foundations:
    """Read, change (versioned) and read the history of a student's Foundation."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def find(self, user_id: str) -> UserFoundation | None:
        query = select(UserFoundation).where(UserFoundation.user_id == user_id)
        return await crud.first(self.db, query)

    async def update(
        self,
        user_id: str,
        patch: dict[str, Any],
        *,
        by_user_id: str | None = None,
        by_agent_id: str | None = None,
    ) -> tuple[UserFoundation, UserFoundationVersion | None]:
        """Merge `patch` field by field; returns the row and the new version (None when
        nothing changed). Wrong types raise InvalidValue naming the field's path."""
        changes = _flat_changes(validate_patch(patch))
        try:
            return await self._update(user_id, changes, by_user_id, by_agent_id)
        except Conflict:
            # Two writers raced on the first save or on a version number: apply on top.
            return await self._update(user_id, changes, by_user_id, by_agent_id)

    async def _update(
        self,
        user_id: str,
        changes: dict[str, Any],
        by_user_id: str | None,
        by_agent_id: str | None,
    ) -> tuple[UserFoundation, UserFoundationVersion | None]:
        async with crud.writing(self.db, TABLE) as session:
            row = await session.scalar(
                select(UserFoundation).where(UserFoundation.user_id == user_id).with_for_update()
            )
            if row is None:
                row = UserFoundation(
                    user_id=user_id, company_context={}, market_awareness={}, customer_avatar={}
                )
                row.version = 0
                session.add(row)
            diff = _apply(row, changes)
            if not diff:
                await session.flush()
                return row, None
            row.version = (row.version or 0) + 1
            row.last_updated_at = utcnow()
            version = UserFoundationVersion(
                user_id=user_id,
                version=row.version,
                changed_by_user_id=by_user_id,
                changed_by_agent_id=by_agent_id,
                changes=diff,
            )
            session.add(version)
            await session.flush()
            # Working on the Foundation is working in module 0.
            await touch_step(session, user_id, "Foundation", by_user_id)
            add_activity(
                session,
                user_id,
                "foundation_updated",
                action_ref=version.id,
                details={
                    "version": row.version,
                    "fields": [c["path"] for c in diff],
                    "by_agent_id": by_agent_id,
                },
                created_by=by_user_id,
            )
            await session.flush()
        return row, version

    async def history(self, user_id: str, limit: int = 200) -> list[UserFoundationVersion]:
        """Versions, newest first."""
        query = (
            select(UserFoundationVersion)
            .where(UserFoundationVersion.user_id == user_id)
            .order_by(UserFoundationVersion.version.desc())
            .limit(max(1, min(limit, 1000)))
        )
        return await crud.scalars(self.db, query)


def _apply(row: UserFoundation, changes: dict[str, Any]) -> list[dict[str, Any]]:
    """Set each changed path on `row`; the list of `{path, label, old, new}` that differ."""
    diff: list[dict[str, Any]] = []
    sections = {name: dict(getattr(row, name) or {}) for name in SECTIONS}
    for path, new in changes.items():
        old = value_at(row, path)
        if old == new:
            continue
        diff.append({"path": path, "label": label_of(path), "old": old, "new": new})
        if path == SUMMARY:
            row.strategic_blueprint_summary = new
            continue
        section, _, name = path.partition(".")
        if new is None:
            sections[section].pop(name, None)
        else:
            sections[section][name] = new
    for name, values in sections.items():
        setattr(row, name, values)
    return diff
