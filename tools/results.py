"""Tool output is untrusted text of unbounded size: make it JSON-safe and cap its length."""

from __future__ import annotations

import json
from typing import Any

from pydantic_core import to_jsonable_python

DEFAULT_MAX_RESULT_CHARS = 8000
TRUNCATED = "… [truncated {} characters]"


def json_safe(value: Any) -> Any:
    """Plain JSON values: pydantic models, dataclasses, dates, enums, sets become JSON shapes;
    anything else becomes its `str`."""
    return to_jsonable_python(value, fallback=str)


def bounded(value: Any, max_chars: int = DEFAULT_MAX_RESULT_CHARS) -> Any:
    """`value` made JSON-safe; if its JSON text is longer than `max_chars`, a truncated string."""
    safe = json_safe(value)
    text = safe if isinstance(safe, str) else json.dumps(safe, ensure_ascii=False)
    if len(text) <= max_chars:
        return safe
    return text[:max_chars] + TRUNCATED.format(len(text) - max_chars)


def as_text(value: Any) -> str:
    """The text a model reads for a result: strings as they are, the rest as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
