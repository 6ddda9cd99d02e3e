"""JSON log lines (`ELEVATE_LOG_FORMAT=json`): one object a line, with the ids of the work.

Each line has `time` (UTC, ISO 8601), `level`, `logger`, `message`, and, when the line was
written on behalf of a conversation, turn or traced request, `conversation_id`, `turn_id`,
`trace_id` and `span_id` (see `runtime.log_context`); an exception adds `exception`. The
message is formatted after the loggers' filters ran, so tokens stay redacted
(`server.log_redaction`).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from runtime import log_context

# The loggers uvicorn configures with handlers of their own, besides the root logger.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
IDS = ("conversation_id", "turn_id", "trace_id", "span_id")


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        ids = log_context.current()
        for key in IDS:
            value = getattr(record, key, None) or ids.get(key)
            if value:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def install_json_logs(stream: object = None) -> None:
    """Every handler of the root and uvicorn loggers writes JSON; the root logger gets one
    (on stderr, INFO) if it has none. Idempotent."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
        root.addHandler(handler)
        if root.level > logging.INFO or root.level == logging.NOTSET:
            root.setLevel(logging.INFO)
    for name in ("", *UVICORN_LOGGERS):
        for handler in logging.getLogger(name).handlers:
            if not isinstance(handler.formatter, JsonFormatter):
                handler.setFormatter(JsonFormatter())
