"""What the offline model understands besides its slash commands, so that a first run without a
model shows delegation and memory at work: plain requests ("research ...", "draft ...",
"do you remember ..."), `/help`, and tool results told in words rather than as escaped JSON.

Everything is a pure function of its input, like the rest of the offline model.
"""

from __future__ import annotations

import json
import re
from typing import Any

# A polite opening ("please", "can you", "could you") is not part of the request.
_OPENING = r"^(?:(?:please|pls|kindly|can you|could you|would you)[\s,]+)*"
RESEARCH = re.compile(
    _OPENING + r"(?:research|investigate|look\s+into|look\s+up|find\s+out|dig\s+into)\b",
    re.IGNORECASE,
)
WRITING = re.compile(
    _OPENING + r"(?:write|draft|compose|rewrite|polish)\b",
    re.IGNORECASE,
)
REMEMBER = re.compile(_OPENING + r"(?:remember|note)\s+(?:that\s+)?(.+)$", re.IGNORECASE)
RECALL = re.compile(
    r"^(?:do\s+you\s+remember|what\s+did\s+i\s+tell\s+you\s+about|what\s+do\s+you\s+know\s+about)"
    r"\s+(.+?)\??$",
    re.IGNORECASE,
)
DELEGATE_ENTRY = re.compile(r"@([\w.-]+) \(([^()]*)\)")

# Words that say an agent does the kind of work asked for (its handle, name or description).
INTENT_WORDS = {
    "research": {"research", "researcher", "researches", "facts", "sources", "analyst", "find"},
    "writing": {"write", "writer", "writes", "writing", "draft", "drafts", "copy", "editor"},
}
MAX_READABLE = 300


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def _intent(line: str) -> str | None:
    if RESEARCH.match(line):
        return "research"
    if WRITING.match(line):
        return "writing"
    return None


def delegates_of(delegate_tool: dict[str, Any]) -> list[tuple[str, str]]:
    """`(handle, "Name: description")` of each agent the `delegate` tool may hand work to."""
    function = delegate_tool.get("function", delegate_tool)
    handles = function.get("parameters", {}).get("properties", {}).get("agent", {}).get("enum")
    described = dict(DELEGATE_ENTRY.findall(function.get("description", "")))
    return [(h, described.get(h, "")) for h in handles or []]


def pick_delegate(intent: str, delegates: list[tuple[str, str]]) -> str | None:
    """The handle whose handle, name and description share the most words with the intent
    (ties: the first listed); None when none fits at all."""
    wanted = INTENT_WORDS[intent]
    best, best_score = None, 0
    for handle, about in delegates:
        score = len(wanted & _words(f"{handle} {about}"))
        if score > best_score:
            best, best_score = handle, score
    return best


def natural_request(
    request: str, tools: dict[str, dict[str, Any]], own_handle: str | None
) -> tuple[str, dict[str, Any]] | None:
    """A tool call for a request in plain words, or None.

    "research ..." and "write/draft ..." go to the delegate that fits, unless this agent is
    itself the one that fits (a writer asked to write answers, it does not pass the task on);
    "please remember that ..." saves a memory; "do you remember ...", "what did I tell you
    about ..." recall one.
    """
    for raw in request.splitlines():
        line = raw.strip()
        if not line:
            continue
        intent = _intent(line)
        if intent and "delegate" in tools:
            is_own_work = own_handle and INTENT_WORDS[intent] & _words(own_handle)
            handle = None if is_own_work else pick_delegate(intent, delegates_of(tools["delegate"]))
            if handle:
                return "delegate", {"agent": handle, "task": line}
        if (found := REMEMBER.match(line)) and "remember" in tools:
            args: dict[str, Any] = {"content": found.group(1).strip()}
            return "remember", _first_enum_values(args, tools["remember"])
        if (found := RECALL.match(line)) and "recall" in tools:
            return "recall", {"query": found.group(1).strip()}
    return None


def _first_enum_values(args: dict[str, Any], tool: dict[str, Any]) -> dict[str, Any]:
    schema = tool.get("function", tool).get("parameters", {})
    for key in schema.get("required", []):
        allowed = schema.get("properties", {}).get(key, {}).get("enum")
        if key not in args and allowed:
            args[key] = allowed[0]
    return args


def help_text(name: str, tools: dict[str, dict[str, Any]]) -> str:
    """`/help`: what the offline model does, with this agent's delegates and tools, as markdown."""
    lines = [
        f"**{name} (offline)** answers without a language model. What it understands:",
        "",
    ]
    delegates = delegates_of(tools["delegate"]) if "delegate" in tools else []
    if delegates:
        handles = ", ".join(f"@{h}" for h, _ in delegates)
        lines += [
            f"- `research <topic>` or `write <what>` / `draft <what>`: hands the task to the "
            f"delegate that fits ({handles})",
            "- `/delegate @handle <task>`: hands a task to one of them by name",
        ]
    if "remember" in tools:
        lines.append("- `remember that <fact>`: saves it to memory")
    if "recall" in tools:
        lines.append(
            "- `what do you remember about <topic>?` or `recall <topic>`: looks it up in memory"
        )
    others = sorted(t for t in tools if t not in {"delegate"})
    if others:
        lines.append(f"- `/tool <name> {{json arguments}}`: calls a tool ({', '.join(others)})")
    lines += [
        "- `ask @handle ...` or `tell @handle ...`: passes the conversation to another agent",
        "- `/help`: this list",
        "",
        "Anything else gets a short reply saying what your message was about. "
        "Set `OPENAI_API_KEY` (or `OPENAI_BASE_URL`) for real answers.",
    ]
    return "\n".join(lines)


def readable(text: str) -> str:
    """A tool result told in words: JSON becomes `field: value` pairs and lists, plain text is
    quoted; long results are cut. Never escaped JSON."""
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        value = text
    said = _say(value, 0)
    return said if len(said) <= MAX_READABLE else said[: MAX_READABLE - 1] + "…"


def _say(value: Any, depth: int) -> str:
    if isinstance(value, str):
        text = " ".join(value.split())
        return f"“{text}”" if depth == 0 else text
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    if depth >= 2:
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "nothing" if not value else "; ".join(_say(item, depth + 1) for item in value)
    if isinstance(value, dict):
        if "content" in value:  # a memory, a message: what it says is what matters
            return _say(value["content"], depth + 1)
        return ", ".join(f"{key}: {_say(item, depth + 1)}" for key, item in value.items())
    return str(value)
