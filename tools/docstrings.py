"""Google-style docstrings: the first paragraph describes the tool, `Args:` its parameters."""

from __future__ import annotations

import inspect
import re

_SECTION = re.compile(r"^([A-Z][A-Za-z ]*):\s*$")
_ARG = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def summary(doc: str | None) -> str:
    """The first paragraph of a docstring, on one line."""
    text = inspect.cleandoc(doc or "")
    first = text.split("\n\n", 1)[0]
    if _SECTION.match(first.splitlines()[0] if first else ""):
        return ""
    return " ".join(line.strip() for line in first.splitlines()).strip()


def arg_descriptions(doc: str | None) -> dict[str, str]:
    """Parameter descriptions from the `Args:` (or `Arguments:`, `Parameters:`) section."""
    lines = inspect.cleandoc(doc or "").splitlines()
    found: dict[str, str] = {}
    in_args = False
    arg_indent: int | None = None
    current: str | None = None
    for line in lines:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        header = _SECTION.match(line)
        if header and indent == 0:
            in_args = header.group(1) in ("Args", "Arguments", "Parameters")
            arg_indent, current = None, None
            continue
        if not in_args or not stripped:
            continue
        if arg_indent is None:
            arg_indent = indent
        match = _ARG.match(stripped)
        if indent == arg_indent and match:
            current = match.group(1)
            found[current] = match.group(2).strip()
        elif current is not None and indent > arg_indent:
            found[current] = f"{found[current]} {stripped}".strip()
    return found
