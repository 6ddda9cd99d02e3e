"""A real MCP server for the tests (`tests/tools/mcp/server_app.py`): a process over streamable
HTTP on a free port, or the same app as a stdio command."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tools.mcp.config import McpServerConfig

ROOT = Path(__file__).resolve().parents[2]
APP = "tests.tools.mcp.server_app"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class HttpMcpServer:
    """The test server as a process listening on `port`; `kill()` ends it at once."""

    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", APP, "http", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the MCP test server exited with {self.process.returncode}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("the MCP test server did not start listening")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def config(self, name: str = "calc", **fields: object) -> McpServerConfig:
        return McpServerConfig(name=name, transport="http", url=self.url, **fields)  # type: ignore[arg-type]


@contextlib.contextmanager
def running_http_server() -> Iterator[HttpMcpServer]:
    """The server listening until the block ends (killed then, if still running)."""
    server = HttpMcpServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.kill()


def stdio_config(name: str = "local", **fields: object) -> McpServerConfig:
    """The test server as a stdio command (`python` is this interpreter)."""
    env = {"PYTHONPATH": str(ROOT), **fields.pop("env", {})}  # type: ignore[dict-item]
    return McpServerConfig(
        name=name,
        transport="stdio",
        command="python",
        args=["-m", APP, "stdio"],
        env=env,
        cwd=str(ROOT),
        **fields,  # type: ignore[arg-type]
    )
