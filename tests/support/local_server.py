"""Run an ASGI app (say `tests/scale/fake_openai.py`'s) on a free loopback port in a thread.

with LocalServer(app) as server:
    settings = Settings(memory_embeddings_url=server.base_url)
"""

from __future__ import annotations

import socket
import threading
from typing import Any

import uvicorn


class LocalServer:
    """uvicorn serving `app` in a background thread until the block ends."""

    def __init__(self, app: Any) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="none")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> LocalServer:
        self._thread.start()
        pause = threading.Event()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the local test server failed to start")
            pause.wait(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()
