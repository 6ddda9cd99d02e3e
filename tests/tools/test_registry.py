"""The registry turns typed, documented functions into tools with a JSON schema."""

from __future__ import annotations

import sys
import textwrap
from enum import Enum
from pathlib import Path
from typing import Annotated, Literal

import pytest
from pydantic import BaseModel

from tools.context import Injected, ToolContext
from tools.errors import ToolDefinitionError, UnknownTool
from tools.registry import (
    ToolRegistry,
    load_all,
    load_entry_points,
    load_tool_modules,
    registry,
)
from tools.schema import without


class Unit(Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


class Place(BaseModel):
    city: str
    country: str = "FR"


def test_schema_follows_hints_and_docstring() -> None:
    tools = ToolRegistry()

    @tools.tool
    async def forecast(
        place: Place,
        days: int,
        unit: Unit = Unit.CELSIUS,
        detail: Literal["short", "long"] = "short",
        hours: list[int] | None = None,
    ) -> str:
        """Forecast the weather somewhere.

        Uses the national services.

        Args:
            place: Where to forecast.
            days (int): How many days ahead,
                counting today.
            unit: Temperature unit.

        Returns:
            A summary.
        """
        return ""

    spec = tools.get("forecast")
    schema = spec.parameters
    assert spec.description == "Forecast the weather somewhere."
    assert schema["type"] == "object"
    assert schema["required"] == ["place", "days"]
    props = schema["properties"]
    assert props["days"] == {
        "type": "integer",
        "title": "Days",
        "description": "How many days ahead, counting today.",
    }
    assert props["detail"]["enum"] == ["short", "long"]
    assert props["detail"]["default"] == "short"
    assert schema["$defs"]["Unit"]["enum"] == ["celsius", "fahrenheit"]
    assert props["place"] == {"$ref": "#/$defs/Place", "description": "Where to forecast."}
    assert schema["$defs"]["Place"]["required"] == ["city"]
    assert {"type": "array", "items": {"type": "integer"}} in props["hours"]["anyOf"]
    assert schema["additionalProperties"] is False


def test_injected_arguments_are_hidden_from_the_model() -> None:
    tools = ToolRegistry()

    @tools.tool
    def whoami(
        greeting: str,
        user_id: Annotated[str, Injected("user_id")],
        context: ToolContext,
    ) -> str:
        """Greet the caller."""
        return f"{greeting} {user_id} {context.conversation_id}"

    spec = tools.get("whoami")
    assert list(spec.parameters["properties"]) == ["greeting"]
    assert spec.injected == {"user_id": "user_id", "context": "context"}
    # The decorator hands the function back untouched.
    assert whoami("hi", "u1", ToolContext(conversation_id="c1")) == "hi u1 c1"


def test_unknown_injection_key_is_refused() -> None:
    with pytest.raises(ValueError, match=r"Injected\('password'\) is not injectable"):
        Injected("password")


def test_definition_mistakes_name_the_tool_and_parameter() -> None:
    tools = ToolRegistry()

    def untyped(x):  # type: ignore[no-untyped-def]
        """Has no hints."""

    def undocumented(x: int) -> int:
        return x

    def variadic(*args: int) -> None:
        """Takes anything."""

    with pytest.raises(ToolDefinitionError, match="'untyped': parameter 'x' has no type hint"):
        tools.register(untyped)
    with pytest.raises(ToolDefinitionError, match="'undocumented' needs a description"):
        tools.register(undocumented)
    with pytest.raises(ToolDefinitionError, match="'args' is \\*args"):
        tools.register(variadic)
    with pytest.raises(ToolDefinitionError, match="must be 1-64 letters"):
        tools.register(undocumented, name="bad name", description="x")


def test_a_name_is_taken_once_but_reimport_is_harmless() -> None:
    tools = ToolRegistry()

    def first() -> None:
        """One."""

    def second() -> None:
        """Two."""

    tools.register(first, name="same")
    tools.register(first, name="same")
    with pytest.raises(ToolDefinitionError, match=r"already registered by .*first"):
        tools.register(second, name="same")
    assert tools.names() == ["same"]


def test_unknown_tool_lists_what_exists() -> None:
    tools = ToolRegistry()
    tools.register(lambda: None, name="noop", description="Does nothing.")
    with pytest.raises(UnknownTool, match="'nope' is registered; registered tools: noop"):
        tools.get("nope")


@pytest.fixture
def plugin_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    name = f"plugin_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(
        textwrap.dedent(
            """
            from tools.registry import tool

            @tool(name="shout")
            def shout(text: str) -> str:
                '''Repeat the text loudly.'''
                return text.upper()
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    registry.unregister("shout")
    sys.modules.pop(name, None)


def test_tool_modules_load_from_the_environment(
    plugin_module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ELEVATE_TOOL_MODULES", f" {plugin_module} ,")
    assert load_tool_modules() == [plugin_module]
    assert registry.get("shout").func("hey") == "HEY"


def test_unimportable_tool_module_is_a_clear_error() -> None:
    with pytest.raises(ToolDefinitionError, match=r"'no_such_module_xyz'.*cannot be imported"):
        load_tool_modules("no_such_module_xyz")


def test_entry_points_bring_in_the_builtins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ELEVATE_TOOL_MODULES", raising=False)
    assert "tools.builtin" in load_entry_points()
    assert {"remember", "recall"} <= set(load_all().names())


def test_hiding_arguments_keeps_only_the_types_still_used() -> None:
    tools = ToolRegistry()

    @tools.tool
    def book(place: Place, unit: Unit, note: str) -> None:
        """Book a trip."""

    schema = tools.get("book").parameters
    assert without(schema, ["unit"])["$defs"].keys() == {"Place"}
    assert "$defs" not in without(schema, ["unit", "place"])
    assert without(schema, ["unit", "place"])["required"] == ["note"]
    assert schema["$defs"].keys() == {"Place", "Unit"}
