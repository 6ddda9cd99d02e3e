"""From a typed function to a pydantic arguments model and the JSON schema the model sees.

Pydantic does the type work: `Literal` and `Enum` become `enum`, nested models become `$defs`,
parameters without a default are `required`. Injected parameters are left out entirely.
"""

from __future__ import annotations

import copy
import inspect
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, create_model

from tools.context import Injected, ToolContext
from tools.docstrings import arg_descriptions
from tools.errors import ToolDefinitionError


@dataclass(frozen=True)
class Signature:
    """A tool function's parameters split into what the model supplies and what is injected."""

    args_model: type[BaseModel]
    injected: dict[str, str]
    parameters: dict[str, Any]


def build_signature(name: str, func: Callable[..., Any]) -> Signature:
    """Read `func`'s hints and docstring; raise `ToolDefinitionError` naming what is wrong."""
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception as exc:
        raise ToolDefinitionError(f"tool {name!r}: cannot resolve type hints: {exc}") from exc
    docs = arg_descriptions(func.__doc__)
    fields: dict[str, Any] = {}
    injected: dict[str, str] = {}
    for param in inspect.signature(func).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ToolDefinitionError(
                f"tool {name!r}: parameter {param.name!r} is *args/**kwargs; "
                "a tool needs named, typed parameters"
            )
        if param.name not in hints:
            raise ToolDefinitionError(f"tool {name!r}: parameter {param.name!r} has no type hint")
        hint = hints[param.name]
        key = _injected_key(hint)
        if key is not None:
            injected[param.name] = key
            continue
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[param.name] = (hint, Field(default, description=docs.get(param.name)))
    model = create_model(  # type: ignore[call-overload]
        f"{_camel(name)}Arguments",
        __config__=ConfigDict(extra="forbid"),
        **fields,
    )
    return Signature(model, injected, _clean_schema(model.model_json_schema()))


def without(schema: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """`schema` with the properties `names` removed (a grant's fixed arguments)."""
    names = set(names)
    if not names:
        return schema
    trimmed = copy.deepcopy(schema)
    properties = trimmed.get("properties", {})
    for name in names:
        properties.pop(name, None)
    if "required" in trimmed:
        trimmed["required"] = [r for r in trimmed["required"] if r not in names]
        if not trimmed["required"]:
            del trimmed["required"]
    _prune_defs(trimmed)
    return trimmed


def _prune_defs(schema: dict[str, Any]) -> None:
    """Drop `$defs` that nothing references any more, so the model sees no stray types."""
    defs = schema.get("$defs")
    if not defs:
        return
    used: set[str] = set()
    pending = [{k: v for k, v in schema.items() if k != "$defs"}]
    while pending:
        node = pending.pop()
        for ref in _refs(node):
            name = ref.rsplit("/", 1)[-1]
            if name not in used and name in defs:
                used.add(name)
                pending.append(defs[name])
    schema["$defs"] = {k: v for k, v in defs.items() if k in used}
    if not schema["$defs"]:
        del schema["$defs"]


def _refs(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _injected_key(hint: Any) -> str | None:
    if hint is ToolContext:
        return "context"
    if get_origin(hint) is Annotated:
        for meta in get_args(hint)[1:]:
            if isinstance(meta, Injected):
                return meta.key
        if get_args(hint)[0] is ToolContext:
            return "context"
    return None


def _clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    # The generated model's title ("FooArguments") means nothing to a language model.
    schema.pop("title", None)
    schema.setdefault("properties", {})
    return schema


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_")) or "Tool"
