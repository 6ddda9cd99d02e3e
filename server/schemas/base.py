"""Shared config and field types of wire models: what every request body may and may not hold.

Input that no storage can take is refused here, at the door, with a 422 naming the field: NUL
characters (PostgreSQL text cannot hold them), integers beyond the database's column types,
free-form JSON nested or sized beyond what a reader can serialize again, and an explicit `null`
for a field that cannot be cleared.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

# Sequence numbers, counters and limits are INTEGER columns: 32-bit on PostgreSQL.
MAX_INT = 2**31 - 1
Seq = Annotated[int, Field(ge=0, le=MAX_INT)]
# Free-form JSON (knowledge, configs, attachments): how deep and how large it may be. Replies
# are serialized again by pydantic, which gives up far deeper than this.
MAX_JSON_DEPTH = 32
MAX_JSON_BYTES = 256 * 1024
MAX_ATTACHMENTS_DEPTH = 8
MAX_ATTACHMENTS_BYTES = 64 * 1024
MAX_ATTACHMENTS = 20


def find_nul(value: Any) -> str | None:
    """The path (`a.0.b`) of the first string or key holding a NUL character, or None.

    Iterative, so that arbitrarily nested input cannot exhaust the stack.
    """
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return path or "value"
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and "\x00" in key:
                    return _join(path, "(key)")
                stack.append((_join(path, str(key)), child))
        elif isinstance(item, list | tuple):
            stack.extend((_join(path, str(i)), child) for i, child in enumerate(item))
    return None


def _join(path: str, part: str) -> str:
    return f"{path}.{part}" if path else part


def json_depth(value: Any, stop_at: int | None = None) -> int:
    """How many containers deep `value` nests (a scalar is 0, `[1]` is 1); iterative.

    With `stop_at`, counting stops once that depth is passed (the answer is then `stop_at + 1`).
    """
    deepest = 0
    stack: list[tuple[int, Any]] = [(0, value)]
    while stack:
        depth, item = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            deepest = max(deepest, depth)
            continue
        deepest = max(deepest, depth + 1)
        if stop_at is not None and deepest > stop_at:
            return deepest
        stack.extend((depth + 1, child) for child in children)
    return deepest


def json_problem(value: Any, max_depth: int, max_bytes: int) -> str | None:
    """Why `value` is not storable free-form JSON within these limits, or None when it is."""
    if json_depth(value, stop_at=max_depth) > max_depth:
        return f"nested deeper than {max_depth} levels"
    try:
        size = len(json.dumps(value, ensure_ascii=False, allow_nan=False).encode())
    except (TypeError, ValueError, RecursionError):
        return "not plain JSON"
    if size > max_bytes:
        return f"{size} bytes of JSON; the limit is {max_bytes}"
    return None


def bounded_json(max_depth: int = MAX_JSON_DEPTH, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """A validator refusing JSON deeper or larger than the limits (for `Annotated` fields)."""

    def check(value: Any) -> Any:
        problem = json_problem(value, max_depth, max_bytes)
        if problem:
            raise ValueError(problem)
        return value

    return AfterValidator(check)


JsonData = Annotated[Any, bounded_json()]
JsonObject = Annotated[dict[str, Any], bounded_json()]
Attachment = Annotated[Any, bounded_json(MAX_ATTACHMENTS_DEPTH, MAX_ATTACHMENTS_BYTES)]
Attachments = Annotated[
    list[Attachment],
    Field(max_length=MAX_ATTACHMENTS),
    bounded_json(MAX_ATTACHMENTS_DEPTH + 1, MAX_ATTACHMENTS_BYTES),  # the list's total size
]


def keep_unset() -> Any:
    """The default of a PATCH field that can be changed but not cleared: leaving it out keeps
    the stored value, and an explicit `null` is refused as the wrong type (422) instead of
    reaching a NOT NULL column."""
    return Field(default=None)


class In(BaseModel):
    """A request body: unknown fields are refused, so a typo is an error, not a silent no-op.

    No string anywhere in it (nested JSON and keys included) may hold a NUL character.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        path = find_nul(data)
        if path is not None:
            raise ValueError(f"`{path}` holds a NUL character, which text fields cannot store")
        return data


class Out(BaseModel):
    """A response body, built from a storage row's attributes."""

    model_config = ConfigDict(from_attributes=True)
