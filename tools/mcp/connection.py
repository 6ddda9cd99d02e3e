"""One live session with one MCP server, reopened with exponential backoff when it fails.

The SDK's client lives inside anyio task groups that must be entered and left by one task, and
a broken transport cancels that task's scope. So each connection is held open by a background
task of its own; calls are made from the turn's task and also wait on the connection's end, so
a server that dies mid-call fails the call at once instead of cancelling the turn or hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx2
import mcp_types
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from tools.mcp.config import McpServerConfig

log = logging.getLogger(__name__)

UNAVAILABLE = "mcp_server_unavailable"


class ServerUnavailable(Exception):
    """The server cannot be reached now; `retry_in` says when the next attempt is allowed."""

    code = UNAVAILABLE

    def __init__(self, server: str, reason: str, retry_in: float = 0.0) -> None:
        self.server, self.reason, self.retry_in = server, reason, retry_in
        again = f"; retrying in {retry_in:.1f} s" if retry_in > 0 else ""
        super().__init__(f"MCP server {server!r} is unavailable: {reason}{again}")


class Backoff:
    """Exponential delay between reconnection attempts: base, 2 base, 4 base ... up to cap."""

    def __init__(self, base: float, cap: float, clock: Callable[[], float] = time.monotonic):
        self.base, self.cap, self.clock = base, cap, clock
        self.failures = 0
        self.next_attempt = 0.0
        self.last_error = ""

    def failed(self, reason: str) -> None:
        self.failures += 1
        self.last_error = reason
        self.next_attempt = self.clock() + min(self.cap, self.base * 2 ** (self.failures - 1))

    def succeeded(self) -> None:
        self.failures, self.next_attempt, self.last_error = 0, 0.0, ""

    def wait_left(self) -> float:
        return max(0.0, self.next_attempt - self.clock())


class ServerConnection:
    """A session with `config`'s server, opened on first use and kept until it breaks."""

    def __init__(
        self, config: McpServerConfig, *, retry_base: float = 1.0, retry_max: float = 60.0
    ) -> None:
        self.config = config
        self.backoff = Backoff(retry_base, retry_max)
        self._client: Client | None = None
        self._holder: asyncio.Task[None] | None = None
        self._ended = asyncio.Event()
        self._stop = asyncio.Event()
        self._opening = asyncio.Lock()

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def connected(self) -> bool:
        return self._client is not None and not self._ended.is_set()

    def status(self) -> dict[str, Any]:
        """What an operator sees: up or not, failures in a row, the last error, next retry."""
        return {
            "connected": self.connected,
            "failures": self.backoff.failures,
            "last_error": self.backoff.last_error or None,
            "retry_in_seconds": round(self.backoff.wait_left(), 3),
        }

    async def client(self) -> Client:
        """The live client, connecting if needed; `ServerUnavailable` while backing off."""
        if self.connected:
            assert self._client is not None
            return self._client
        async with self._opening:
            if self.connected:
                assert self._client is not None
                return self._client
            wait = self.backoff.wait_left()
            if wait > 0:
                raise ServerUnavailable(self.name, self.backoff.last_error, wait)
            try:
                client = await asyncio.wait_for(self._open(), self.config.timeout_seconds)
            except Exception as exc:
                reason = _reason(exc)
                self.backoff.failed(reason)
                log.warning("MCP server %r: cannot connect: %s", self.name, reason)
                raise ServerUnavailable(self.name, reason, self.backoff.wait_left()) from None
            self.backoff.succeeded()
            return client

    async def list_tools(self) -> list[mcp_types.Tool]:
        """Every tool the server offers now (all pages, never from a cache)."""
        client = await self.client()
        tools: list[mcp_types.Tool] = []
        cursor: str | None = None
        for _ in range(100):
            page = await self._guarded(
                client.list_tools(cursor=cursor, cache_mode="refresh"), self.config.timeout_seconds
            )
            tools.extend(page.tools)
            cursor = page.next_cursor
            if cursor is None:
                break
        return tools

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> mcp_types.CallToolResult:
        """Call `name`; `ServerUnavailable` if the server is down or the session breaks.

        No time limit here: the executor bounds the call by its grant's timeout."""
        client = await self.client()
        return await self._guarded(client.call_tool(name, arguments), None)

    async def close(self) -> None:
        self._stop.set()
        holder, self._holder = self._holder, None
        if holder is not None and not holder.done():
            try:
                await asyncio.wait_for(asyncio.shield(holder), 5)
            except (TimeoutError, Exception):
                holder.cancel()
                with contextlib.suppress(BaseException):
                    await holder

    # Inside ---------------------------------------------------------------------------------

    async def _guarded(self, request: Any, seconds: float | None) -> Any:
        """Await `request` unless the session ends first (the server died or went away)."""
        call = asyncio.ensure_future(request)
        ended = asyncio.ensure_future(self._ended.wait())
        try:
            done, _ = await asyncio.wait(
                {call, ended}, timeout=seconds, return_when="FIRST_COMPLETED"
            )
        finally:
            ended.cancel()
            if not call.done():
                call.cancel()
                with contextlib.suppress(BaseException):
                    await call
        if call in done and not call.cancelled():
            exc = call.exception()
            if exc is None:
                return call.result()
            if self._ended.is_set() or not _is_protocol_error(exc):
                self._broken(_reason(exc))
                raise ServerUnavailable(self.name, _reason(exc), self.backoff.wait_left()) from exc
            raise exc
        if self._ended.is_set():
            raise ServerUnavailable(
                self.name, self.backoff.last_error or "connection lost", self.backoff.wait_left()
            )
        raise TimeoutError(f"MCP server {self.name!r} did not answer within {seconds:g} s")

    def _broken(self, reason: str) -> None:
        """The session failed under a call: end it now and back off before reconnecting."""
        if not self._ended.is_set():
            self.backoff.failed(reason)
            log.warning("MCP server %r: connection lost: %s", self.name, reason)
        self._client = None
        self._stop.set()
        self._ended.set()

    async def _open(self) -> Client:
        await self.close()
        self._stop, self._ended = asyncio.Event(), asyncio.Event()
        ready: asyncio.Future[Client] = asyncio.get_running_loop().create_future()
        self._holder = asyncio.create_task(self._hold(ready), name=f"mcp:{self.name}")
        try:
            return await ready
        except BaseException:
            self._holder.cancel()
            raise

    async def _hold(self, ready: asyncio.Future[Client]) -> None:
        """Keep the session open until asked to stop or until it breaks."""
        stop, ended = self._stop, self._ended
        try:
            async with contextlib.AsyncExitStack() as stack:
                target = self._target()
                if isinstance(target, httpx2.AsyncClient):
                    http = await stack.enter_async_context(target)
                    assert self.config.url is not None
                    target = streamable_http_client(self.config.url, http_client=http)
                client = await stack.enter_async_context(Client(target, mode="auto"))
                self._client = client
                ready.set_result(client)
                await stop.wait()
        except BaseException as exc:  # the transport cancels this task's scope when it breaks
            if not ready.done():
                ready.set_exception(ServerUnavailable(self.name, _reason(exc)))
            elif not stop.is_set():
                self.backoff.failed(_reason(exc))
                log.warning("MCP server %r: connection lost: %s", self.name, _reason(exc))
            if not isinstance(exc, Exception) and not isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            if not ready.done():
                ready.set_exception(ServerUnavailable(self.name, "the session ended at once"))
            if not stop.is_set() and self.backoff.failures == 0:
                self.backoff.failed("connection lost")
            if self._ended is ended:  # not a newer session's state
                self._client = None
            ended.set()

    def _target(self) -> Any:
        config = self.config
        if config.transport == "http":
            assert config.url is not None
            # The read timeout stays open: a call is bounded by its grant, not by the socket.
            return create_mcp_http_client(
                headers=config.resolved_headers(),
                timeout=httpx2.Timeout(config.timeout_seconds, read=None),
            )
        assert config.command is not None
        command = sys.executable if config.command == "python" else config.command
        return StdioServerParameters(
            command=command,
            args=list(config.args),
            env=config.resolved_env() or None,
            cwd=config.cwd,
        )


def _is_protocol_error(exc: BaseException) -> bool:
    """An error the server answered with (bad request), as opposed to a broken connection."""
    from mcp import MCPError

    return isinstance(exc, MCPError) and "closed" not in str(exc).lower()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ServerUnavailable):
        return exc.reason
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_reason(e) for e in exc.exceptions[:3])
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
