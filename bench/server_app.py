"""The app uvicorn serves in the server benchmarks: the product's `create_app`, with the bench's
zero-latency scripted model registered as `scripted:bench` (run with `--factory`)."""

from __future__ import annotations

from typing import Any

from bench.elevate import scripted_model_name


def create() -> Any:
    from runtime.settings import Settings
    from server.app import create_app

    scripted_model_name()
    return create_app(Settings())
