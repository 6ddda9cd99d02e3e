"""Bearer tokens never reach the server log.

A browser can only pass a websocket token in the URL (`/ws?token=...`), and uvicorn logs request
lines: its access log (`uvicorn.access`) and the websocket handshake lines (`uvicorn.error`).
A filter on those loggers replaces the value of any `token`/`access_token` query parameter with
`[redacted]` in the record's message and arguments, before any handler formats it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

REDACTED = "[redacted]"
LOGGERS = ("uvicorn.access", "uvicorn.error")
_TOKEN = re.compile(r"([?&](?:access_)?token=)[^&\s\"']*", re.IGNORECASE)


def redact(text: str) -> str:
    """`text` with every token query value replaced."""
    return _TOKEN.sub(lambda m: m.group(1) + REDACTED, text)


class RedactTokens(logging.Filter):
    """Rewrites token query values in a record; it never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_clean(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = {key: _clean(value) for key, value in record.args.items()}
        return True


def _clean(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


def install_redaction() -> None:
    """Put the filter on uvicorn's loggers once (idempotent: create_app and serve both call it)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
