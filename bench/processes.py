"""Server subprocesses on loopback ports: started, waited for, and stopped by their own pid."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM when the bench process dies, so no orphan keeps a port."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerProcess:
    """A Python module run as a server on 127.0.0.1:`port` (its output kept in a log file)."""

    def __init__(self, args: list[str], *, env: dict[str, str] | None = None, name: str) -> None:
        self.port = free_port()
        self.args = [arg.replace("{port}", str(self.port)) for arg in args]
        env = {**os.environ, **(env or {})}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        self.env = env
        self.log = Path("/tmp") / f"elevate-bench-{name}-{self.port}.log"
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def start(self) -> ServerProcess:
        with self.log.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                *self.args,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=log,
                preexec_fn=_die_with_parent,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.returncode is not None:
                raise RuntimeError(f"{self.args} exited early; see {self.log}")
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                await writer.wait_closed()
                return self
            await asyncio.sleep(0.1)
        await self.stop()
        raise RuntimeError(f"{self.args} did not listen on {self.port}; see {self.log}")

    async def stop(self) -> None:
        """SIGINT first (so a profiled server writes its profile), then SIGKILL if it hangs."""
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def __aenter__(self) -> ServerProcess:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def broadcast_server() -> ServerProcess:
    return ServerProcess(["-m", "bench.ws_broadcast", "--port", "{port}"], name="broadcast")
