"""Declarative base and column helpers shared by every model.

Every table gets a sortable string `id` and a `created_at`; literal unions become a string column
with a CHECK constraint plus a Python-side check that names the table, field and value.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    MetaData,
    String,
    TypeDecorator,
    event,
    inspect,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Mapper, mapped_column

from store.errors import InvalidValue
from store.ids import new_id

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite drops the offset otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store only timezone-aware values")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Base of all models: ULID `id` and `created_at` on every table."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=False)

    def to_dict(self) -> dict[str, Any]:
        """Column values keyed by column name, for wire models and tests; a deferred column
        not loaded (a memory's embedding) is left out rather than read on the side."""
        unloaded = inspect(self).unloaded
        return {
            c.key: getattr(self, c.key)
            for c in self.__mapper__.column_attrs
            if c.key not in unloaded
        }


def choice(enum: type[StrEnum], *, nullable: bool = False, default: StrEnum | None = None) -> Any:
    """A string column limited to `enum`'s values, checked in Python and by the database."""
    return mapped_column(
        String(32),
        nullable=nullable,
        default=default.value if default is not None else None,
        info={"choices": tuple(e.value for e in enum)},
    )


def choice_checks(
    table: str, columns: Iterable[tuple[str, type[StrEnum]]]
) -> list[CheckConstraint]:
    """CHECK constraints mirroring `choice` columns, named after the column."""
    checks = []
    for column, enum in columns:
        allowed = ", ".join(f"'{e.value}'" for e in enum)
        checks.append(CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_allowed"))
    return checks


def exactly_one_member_check(kind_column: str = "kind") -> CheckConstraint:
    """The user-or-agent union: `kind` says which foreign key is set, and only that one is."""
    return CheckConstraint(
        f"({kind_column} = 'user' AND user_id IS NOT NULL AND agent_id IS NULL) OR "
        f"({kind_column} = 'agent' AND agent_id IS NOT NULL AND user_id IS NULL)",
        name="exactly_one_member",
    )


def _choice_validator(table: str, field: str, choices: tuple[str, ...], nullable: bool) -> Any:
    def validate(target: Any, value: Any, oldvalue: Any, initiator: Any) -> Any:
        if value is None and nullable:
            return value
        raw = value.value if isinstance(value, StrEnum) else value
        if raw not in choices:
            raise InvalidValue(table, field, value, "one of " + ", ".join(choices))
        return raw

    return validate


@event.listens_for(Base, "mapper_configured", propagate=True)
def _attach_choice_validators(mapper: Mapper[Any], cls: type) -> None:
    for attr in mapper.column_attrs:
        column = attr.columns[0]
        choices = column.info.get("choices")
        if choices:
            validator = _choice_validator(
                mapper.local_table.name, attr.key, choices, bool(column.nullable)
            )
            event.listen(getattr(cls, attr.key), "set", validator, retval=True)
