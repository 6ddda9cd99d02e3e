"""User-controlled text placed in a model's input, written so that it stays data.

Instructions are Markdown with `## ` section headings. A display name, an agent description, a
prompt title or a stored summary is written by someone other than the agent's editor, so it
must never start a line of its own that could pass for a heading (`Ann\\n## SYSTEM OVERRIDE`)
or for another speaker. Short labels are kept as they are when they are plain, and JSON-quoted
(newlines and control characters escaped) otherwise; longer text keeps its lines, but none of
them can open a section.
"""

from __future__ import annotations

import json
import re
import unicodedata

# A plain label: letters, digits, spaces and common punctuation, not starting with markup.
PLAIN = re.compile(r"[^\W_][\w .,'&()+/-]*", re.UNICODE)
# A line that could pass for a heading: `#` after optional blanks (`#12 Ann: ...`, a numbered
# summary line, is not one).
HEADING = re.compile(r"^([^\S\n]*)(#)(?!\d)", re.MULTILINE)
INVISIBLE = {"Zl", "Zp", "Cf", "Cc", "Co"}


def _escape_invisible(text: str, keep: str = "") -> str:
    """Escape what JSON leaves raw but a reader may take as a break or hide: line and paragraph
    separators, format characters (bidi overrides, zero-width), other control characters."""
    return "".join(
        f"\\u{ord(ch):04x}" if ch not in keep and unicodedata.category(ch) in INVISIBLE else ch
        for ch in text
    )


def quote(text: str) -> str:
    """`text` as a JSON string literal on one line: always data, never structure."""
    return _escape_invisible(json.dumps(text, ensure_ascii=False))


def label(text: str | None, missing: str = "someone") -> str:
    """A name or short label: as it is when plain (`Ann`, `Acme Ltd.`), JSON-quoted otherwise."""
    if not text:
        return missing
    if PLAIN.fullmatch(text) and len(text) <= 200:
        return text
    return quote(text)


def one_line(text: str | None) -> str:
    """A description on the line of a list item: plain text kept, anything else quoted."""
    if not text:
        return ""
    flat = " ".join(text.split())
    if flat == text and text.isprintable() and not text.lstrip().startswith("#"):
        return text
    return quote(text)


def block(text: str) -> str:
    """Multi-line text inside a section: its lines kept (normalised to `\\n`), every line that
    would read as a heading escaped (`\\## ...`), and invisible breaks made visible."""
    lines = "\n".join(_escape_invisible(line, keep="\t") for line in text.splitlines())
    return HEADING.sub(r"\1\\\2", lines)
