"""An MCP server's tool as a `ToolSpec`: the same registry, grants and executor as Python tools.

The arguments model is built from the tool's JSON schema: one field per top-level property,
each checked against its own sub-schema by `jsonschema`, so the executor's validation, fixed
arguments and error messages work unchanged. The function sends the call to the server and
turns its answer into a result, or into a `ToolError` with a stable code.
"""

from __future__ import annotations

import copy
import keyword
import warnings
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

import jsonschema
import mcp_types
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model

from tools.errors import ToolError
from tools.registry import ToolSpec

CallRemote = Callable[[str, dict[str, Any]], Awaitable[mcp_types.CallToolResult]]
MCP_TOOL_ERROR = "mcp_tool_error"
MISSING = object()


class UnsupportedTool(ValueError):
    """A server's tool whose schema Elevate cannot offer to a model (the message says why)."""


def describe(tool: mcp_types.Tool) -> str:
    return (tool.description or tool.title or "").strip() or f"The MCP tool {tool.name!r}."


def input_schema(tool: mcp_types.Tool) -> dict[str, Any]:
    """The tool's input schema as models see it (an object schema, without its title)."""
    schema = copy.deepcopy(dict(tool.input_schema or {}))
    schema.pop("title", None)
    schema.setdefault("type", "object")
    schema.setdefault("properties", {})
    if schema.get("type") != "object":
        raise UnsupportedTool(f"tool {tool.name!r}: its input schema is not an object")
    return schema


def arguments_model(name: str, schema: dict[str, Any]) -> type[BaseModel]:
    """A pydantic model whose fields are the schema's properties, validated by jsonschema."""
    required = set(schema.get("required", []))
    defs: dict[str, Any] = {k: schema[k] for k in ("$defs", "definitions") if k in schema}
    fields: dict[str, Any] = {}
    for prop, sub in schema.get("properties", {}).items():
        if not prop.isidentifier() or keyword.iskeyword(prop) or prop.startswith("_"):
            raise UnsupportedTool(f"tool {name!r}: parameter name {prop!r} is not supported")
        check = AfterValidator(_checker(prop, {**defs, **(sub if isinstance(sub, dict) else {})}))
        default = ... if prop in required else None
        fields[prop] = (Annotated[Any, check], Field(default))
    extra: Literal["allow", "forbid"] = (
        "allow" if schema.get("additionalProperties") is True else "forbid"
    )
    with warnings.catch_warnings():
        # A parameter called `schema` or `json` shadows a BaseModel method we never call.
        warnings.simplefilter("ignore")
        return create_model(  # type: ignore[call-overload, no-any-return]
            f"Mcp_{name}_Arguments", __config__=ConfigDict(extra=extra), **fields
        )


def _checker(prop: str, schema: dict[str, Any]) -> Callable[[Any], Any]:
    validator_class = jsonschema.validators.validator_for(schema, jsonschema.Draft202012Validator)
    validator = validator_class(schema)

    def check(value: Any) -> Any:
        if value is None:
            return value  # an optional parameter left out; it is not sent
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
        if error is not None:
            raise ValueError(error.message)
        return value

    return check


def result_value(result: mcp_types.CallToolResult) -> Any:
    """What the model reads: the text blocks joined, structured content, or a description."""
    texts, others = [], []
    for block in result.content:
        if isinstance(block, mcp_types.TextContent):
            texts.append(block.text)
        elif isinstance(block, mcp_types.ImageContent | mcp_types.AudioContent):
            others.append(f"[{block.type} {block.mime_type}, {len(block.data)} base64 characters]")
        elif isinstance(block, mcp_types.EmbeddedResource):
            resource = block.resource
            text = getattr(resource, "text", None)
            others.append(text if text is not None else f"[resource {resource.uri}]")
        else:
            others.append(f"[{getattr(block, 'type', 'content')}]")
    if texts or others:
        return "\n".join(texts + others)
    if result.structured_content is not None:
        return result.structured_content
    return ""


def build_spec(name: str, tool: mcp_types.Tool, call: CallRemote, *, origin: str) -> ToolSpec:
    """The `ToolSpec` named `name` for the server's `tool`; `call(remote_name, args)` runs it.

    `origin` (e.g. `mcp:docs/search`) tells a clash with another registration apart.
    """
    schema = input_schema(tool)
    model = arguments_model(name, schema)
    required = set(schema.get("required", []))
    remote = tool.name

    async def run(**kwargs: Any) -> Any:
        arguments = {k: v for k, v in kwargs.items() if v is not None or k in required}
        result = await call(remote, arguments)
        if result.is_error:
            raise ToolError(str(result_value(result)) or "the tool failed", code=MCP_TOOL_ERROR)
        return result_value(result)

    run.__module__, run.__qualname__ = "mcp", origin
    return ToolSpec(
        name=name,
        description=describe(tool),
        func=run,
        args_model=model,
        injected={},
        parameters=schema,
    )
