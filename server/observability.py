"""Tracing, metrics and log format for one server process, from its settings.

`install(app, settings)` is called by `create_app`: JSON logs when `ELEVATE_LOG_FORMAT=json`,
tracing when the `OTEL_*` variables ask for it (`runtime.tracing.configure`), the server-span
middleware, and the `/metrics` route. `watch(services)` counts the database's errors once the
services are open.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI

from runtime import metrics, tracing
from runtime.settings import Settings
from server import metrics_route
from server.json_logs import install_json_logs
from server.tracing_middleware import TraceRequests

CONTENT_VARIABLE = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"


def install(app: FastAPI, settings: Settings, environ: Mapping[str, str] = os.environ) -> None:
    """Wire the process's observability into `app` (see the module docstring)."""
    if settings.log_format == "json":
        install_json_logs()
    content = settings.trace_content or environ.get(CONTENT_VARIABLE, "").lower() == "true"
    tracing.configure(content=content, environ=environ)
    app.add_middleware(TraceRequests)
    app.include_router(metrics_route.router)


def flush() -> None:
    """Export the spans still buffered (the process is stopping)."""
    tracing.flush()


def watch(services: Any) -> None:
    """Count the errors of the services' database."""
    metrics.watch_database(services.db.engine, services.db.dialect)
