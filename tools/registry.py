"""The tool registry: decorated Python functions, described for models, looked up by name.

Tools are referred to by their registered name everywhere (grants, database rows, model calls);
configuration never imports a dotted path. Code is brought in only by the process's own choice:
the `elevate.tools` entry points and the `ELEVATE_TOOL_MODULES` environment variable.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, TypeVar, overload

from pydantic import BaseModel

from tools.docstrings import summary
from tools.errors import ToolDefinitionError, UnknownTool
from tools.schema import build_signature

ENTRY_POINT_GROUP = "elevate.tools"
MODULES_ENV = "ELEVATE_TOOL_MODULES"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ToolSpec:
    """A registered tool: its function, description and the schema of its model-facing args.

    `injected` maps parameter names to the `ToolContext` value the runtime fills in.
    """

    name: str
    description: str
    func: Callable[..., Any]
    args_model: type[BaseModel]
    injected: dict[str, str]
    parameters: dict[str, Any]

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.func)

    @property
    def origin(self) -> str:
        """Where the function lives, for messages about clashing registrations."""
        return f"{self.func.__module__}.{self.func.__qualname__}"


class ToolRegistry:
    """Tools by name. A name is taken once; registering the same function again is a no-op
    (a module imported twice), registering a different one under a taken name is an error."""

    def __init__(self) -> None:
        self._tools: dict[str, ToolSpec] = {}
        self._retired: dict[str, tuple[str, str]] = {}

    def register(
        self,
        func: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
    ) -> ToolSpec:
        """Describe `func` from its hints and docstring and register it."""
        name = name or func.__name__
        if not NAME_PATTERN.match(name):
            raise ToolDefinitionError(
                f"tool name {name!r} must be 1-64 letters, digits, '_' or '-'"
            )
        description = (description or summary(func.__doc__)).strip()
        if not description:
            raise ToolDefinitionError(
                f"tool {name!r} needs a description: give the function a docstring"
            )
        signature = build_signature(name, func)
        spec = ToolSpec(
            name=name,
            description=description,
            func=func,
            args_model=signature.args_model,
            injected=signature.injected,
            parameters=signature.parameters,
        )
        existing = self._tools.get(name)
        if existing is not None and existing.origin != spec.origin:
            raise ToolDefinitionError(
                f"tool name {name!r} is already registered by {existing.origin}; "
                f"cannot register {spec.origin} under it"
            )
        self._tools[name] = spec
        self._retired.pop(name, None)
        return spec

    def add(self, spec: ToolSpec) -> ToolSpec:
        """Register a ready-made spec (a tool from elsewhere than a Python function, such as an
        MCP server's); a name another origin holds is refused, the same origin replaces."""
        if not NAME_PATTERN.match(spec.name):
            raise ToolDefinitionError(
                f"tool name {spec.name!r} must be 1-64 letters, digits, '_' or '-'"
            )
        existing = self._tools.get(spec.name)
        if existing is not None and existing.origin != spec.origin:
            raise ToolDefinitionError(
                f"tool name {spec.name!r} is already registered by {existing.origin}; "
                f"cannot register {spec.origin} under it"
            )
        self._tools[spec.name] = spec
        self._retired.pop(spec.name, None)
        return spec

    def retire(self, name: str, code: str, message: str) -> None:
        """Unregister `name` and remember why, so a call to it gets a clear error code."""
        self._tools.pop(name, None)
        self._retired[name] = (code, message)

    def retired(self, name: str) -> tuple[str, str] | None:
        """`(code, message)` of a tool that was here and went away, else None."""
        return self._retired.get(name)

    @overload
    def tool(self, func: F, /) -> F: ...

    @overload
    def tool(
        self, *, name: str | None = None, description: str | None = None
    ) -> Callable[[F], F]: ...

    def tool(
        self,
        func: Any = None,
        /,
        *,
        name: str | None = None,
        description: str | None = None,
    ) -> Any:
        """Decorator: `@registry.tool` or `@registry.tool(name=..., description=...)`.

        The function is returned unchanged, so it stays callable (and testable) directly.
        """

        def decorate(f: F) -> F:
            self.register(f, name=name, description=description)
            return f

        return decorate(func) if func is not None else decorate

    def get(self, name: str) -> ToolSpec:
        try:
            return self._tools[name]
        except KeyError:
            raise UnknownTool(name, list(self._tools)) from None

    def unregister(self, name: str) -> None:
        self._tools.pop(name, None)

    def names(self) -> list[str]:
        return sorted(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[ToolSpec]:
        return iter([self._tools[n] for n in self.names()])

    def __len__(self) -> int:
        return len(self._tools)


registry = ToolRegistry()
"""The process's default registry; `tools.builtin` and plugin modules register into it."""

tool = registry.tool


def load_tool_modules(names: Iterable[str] | str | None = None) -> list[str]:
    """Import the named modules so their `@tool` functions register; return what was imported.

    `names` is a list or a comma-separated string; None reads `ELEVATE_TOOL_MODULES`.
    """
    if names is None:
        names = os.environ.get(MODULES_ENV, "")
    if isinstance(names, str):
        names = names.split(",")
    loaded = []
    for raw in names:
        module = raw.strip()
        if not module:
            continue
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ToolDefinitionError(
                f"tool module {module!r} (from {MODULES_ENV} or the caller) "
                f"cannot be imported: {exc}"
            ) from exc
        loaded.append(module)
    return loaded


def load_entry_points(group: str = ENTRY_POINT_GROUP) -> list[str]:
    """Import every module named by an installed `elevate.tools` entry point."""
    loaded = []
    for point in entry_points(group=group):
        try:
            point.load()
        except ImportError as exc:
            raise ToolDefinitionError(
                f"entry point {point.name!r} of {group!r} ({point.value}) cannot be imported: {exc}"
            ) from exc
        loaded.append(point.value)
    return loaded


def load_all(modules: Iterable[str] | str | None = None) -> ToolRegistry:
    """Entry points, then `modules` (default: `ELEVATE_TOOL_MODULES`); the default registry."""
    load_entry_points()
    load_tool_modules(modules)
    return registry
