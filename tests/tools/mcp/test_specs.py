"""An MCP tool's JSON schema as a `ToolSpec`: validation, fixed arguments, results."""

from __future__ import annotations

from typing import Any

import mcp_types
import pytest

from tools import ToolError, validate_grant
from tools.errors import InvalidGrant
from tools.mcp.specs import UnsupportedTool, build_spec, result_value

SEARCH = mcp_types.Tool(
    name="search",
    description="Search the docs.",
    input_schema={
        "type": "object",
        "title": "searchArguments",
        "properties": {
            "query": {"type": "string", "minLength": 1},
            "limit": {"type": "integer", "minimum": 1, "maximum": 50},
            "kind": {"enum": ["page", "api"]},
        },
        "required": ["query"],
    },
)


def spec_calling(answer: mcp_types.CallToolResult, sent: list[Any]) -> Any:
    async def call(remote: str, arguments: dict[str, Any]) -> mcp_types.CallToolResult:
        sent.append((remote, arguments))
        return answer

    return build_spec("docs__search", SEARCH, call, origin="docs/search")


def text(value: str, *, error: bool = False) -> mcp_types.CallToolResult:
    return mcp_types.CallToolResult(
        content=[mcp_types.TextContent(type="text", text=value)], is_error=error
    )


def test_the_schema_validates_arguments_per_field() -> None:
    spec = spec_calling(text("ok"), [])
    assert spec.parameters["required"] == ["query"] and "title" not in spec.parameters
    assert spec.args_model.model_validate({"query": "x", "limit": 3}).limit == 3
    for bad, field in [
        ({"query": ""}, "query"),
        ({"query": "x", "limit": 99}, "limit"),
        ({"query": "x", "kind": "blog"}, "kind"),
        ({"limit": 3}, "query"),
        ({"query": "x", "other": 1}, "other"),
    ]:
        with pytest.raises(ValueError) as caught:
            spec.args_model.model_validate(bad)
        assert field in str(caught.value)


def test_fixed_arguments_are_checked_against_the_schema() -> None:
    spec = spec_calling(text("ok"), [])
    assert validate_grant({"fixed_args": {"limit": 5}}, spec, agent="a").fixed_args == {"limit": 5}
    with pytest.raises(InvalidGrant, match="limit"):
        validate_grant({"fixed_args": {"limit": 500}}, spec, agent="a")
    with pytest.raises(InvalidGrant, match="not parameters"):
        validate_grant({"fixed_args": {"colour": "red"}}, spec, agent="a")


async def test_calls_send_only_what_was_given_and_errors_become_tool_errors() -> None:
    sent: list[Any] = []
    spec = spec_calling(text("found 2"), sent)
    assert await spec.func(query="x", limit=None, kind=None) == "found 2"
    assert sent == [("search", {"query": "x"})]
    failing = spec_calling(text("index offline", error=True), [])
    with pytest.raises(ToolError) as caught:
        await failing.func(query="x", limit=None, kind=None)
    assert (caught.value.code, str(caught.value)) == ("mcp_tool_error", "index offline")


def test_results_read_as_text_or_structured_content() -> None:
    image = mcp_types.ImageContent(type="image", data="aGVsbG8=", mime_type="image/png")
    mixed = mcp_types.CallToolResult(
        content=[mcp_types.TextContent(type="text", text="a chart"), image]
    )
    assert result_value(mixed) == "a chart\n[image image/png, 8 base64 characters]"
    structured = mcp_types.CallToolResult(content=[], structured_content={"n": 1})
    assert result_value(structured) == {"n": 1}


def test_schemas_we_cannot_offer_are_refused() -> None:
    odd = mcp_types.Tool(
        name="odd", input_schema={"type": "object", "properties": {"not-a-name": {}}}
    )
    with pytest.raises(UnsupportedTool, match="not-a-name"):
        build_spec("s__odd", odd, None, origin="s/odd")  # type: ignore[arg-type]
