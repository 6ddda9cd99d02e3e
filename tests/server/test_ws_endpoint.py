"""The websocket door: `Origin` is compared with the configured origins, or with the server's
own when none are configured; the `Host` header is never taken as proof of anything."""

from __future__ import annotations

import asyncio
import base64
import os

import pytest

from runtime.settings import Settings
from tests.server.live import LiveServer, live_server, socket


async def _status(live: LiveServer, origin: str, host: str | None = None) -> int:
    """The status line's code of a websocket handshake (101 when accepted), sent by hand so
    that `Host` says exactly what an attacker wants it to."""
    address, port = live.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(address, int(port))
    try:
        request = (
            "GET /ws HTTP/1.1\r\n"
            f"Host: {host or f'{address}:{port}'}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
            f"Sec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n"
        )
        writer.write(request.encode())
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 15)
        return int(status_line.split()[1])
    finally:
        writer.close()


def test_the_default_is_not_a_wildcard(make_settings) -> None:
    assert make_settings().allowed_origins == []


async def test_by_default_only_the_servers_own_origins_may_connect(make_settings) -> None:
    async with live_server(make_settings()) as live:
        port = live.base_url.rsplit(":", 1)[1]
        assert await _status(live, f"http://127.0.0.1:{port}") == 101
        assert await _status(live, f"http://localhost:{port}") == 101
        assert await _status(live, "http://evil.example") == 403
        assert await _status(live, f"http://127.0.0.1:{int(port) + 1}") == 403
        assert await _status(live, f"https://127.0.0.1:{port}") == 403


@pytest.mark.parametrize("allowed", [[], ["http://good.example"]])
async def test_a_host_header_naming_the_origin_proves_nothing(make_settings, allowed) -> None:
    async with live_server(make_settings(allowed_origins=allowed)) as live:
        assert await _status(live, "http://evil.example", host="evil.example") == 403
        assert await _status(live, "http://evil", host="evil") == 403


async def test_configured_origins_replace_the_default(make_settings) -> None:
    settings = make_settings(allowed_origins=["https://chat.example.com/"])
    async with live_server(settings) as live:
        port = live.base_url.rsplit(":", 1)[1]
        assert await _status(live, "https://chat.example.com") == 101
        assert await _status(live, "HTTPS://CHAT.EXAMPLE.COM") == 101
        assert await _status(live, f"http://127.0.0.1:{port}") == 403


async def test_clients_that_send_no_origin_go_on_to_authenticate(make_settings) -> None:
    async with live_server(make_settings()) as live, socket(live) as client:
        await client.send({"type": "ping"})
        assert (await client.recv())["code"] == "unauthenticated"


def test_production_refuses_a_wildcard() -> None:
    with pytest.raises(ValueError, match="ALLOWED_ORIGINS"):
        Settings(environment="production", secret_key="s" * 40, allowed_origins=["*"])
    assert Settings(environment="production", secret_key="s" * 40).allowed_origins == []
