"""Browser tests run the real server (uvicorn on a free loopback port, in a thread) and drive
Debian's Chromium through Playwright. The only stand-in is the model: the offline model slowed
down per chunk, so streaming is observable and a page can be reloaded mid-turn.

Outside CI a missing Chromium skips these tests with the reason; in CI (`CI=true`) it fails.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from runtime.models import unregister_provider
from runtime.settings import Settings
from runtime.testing import SLOW_OFFLINE_PROVIDER, register_slow_offline

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(autouse=True, scope="session")
def slow_model_provider() -> Iterator[None]:
    register_slow_offline()
    yield
    unregister_provider(SLOW_OFFLINE_PROVIDER)


@pytest.fixture
def chromium_path() -> str:
    if CHROMIUM.exists():
        return str(CHROMIUM)
    reason = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"{reason}; CI must run the browser tests")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    url: str
    settings: Settings


class _ServerThread(threading.Thread):
    def __init__(self, server: uvicorn.Server) -> None:
        super().__init__(daemon=True, name="uvicorn-ui-tests")
        self.server = server

    def run(self) -> None:
        self.server.run()


@pytest.fixture
def live_server(database_url: str, redis_url: str | None, tmp_path: Path) -> Iterator[LiveServer]:
    """The real app on a free port, on the test's database and bus (Redis or in-process)."""
    from server.app import create_app

    settings = Settings(
        _env_file=None,
        environment="test",
        database_url=database_url,
        redis_url=redis_url,
        openai_api_key=None,
        openai_base_url=None,
        default_model=f"{SLOW_OFFLINE_PROVIDER}:default",
        data_dir=tmp_path,
        frames_per_second=200.0,
        frame_burst=400,
    )
    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = _ServerThread(server)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            pytest.fail("the server did not start; see its log above")
        thread.join(0.05)
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", settings=settings)
    finally:
        server.should_exit = True
        thread.join(30)


@pytest.fixture
async def browser(chromium_path: str) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


class Client:
    """REST calls for setting up a scene faster than clicking through it."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    async def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as http:
            response = await http.request(method, f"/api{path}", headers=headers, **kwargs)
        assert response.status_code < 400, (
            f"{method} {path}: {response.status_code} {response.text}"
        )
        return response.json() if response.content else None

    async def register(self, name: str) -> dict[str, Any]:
        email = f"{name.lower()}@example.test"
        body = await self.call(
            "POST",
            "/auth/register",
            json={"email": email, "password": "correct horse", "name": name},
        )
        return {**body["user"], "token": body["token"], "email": email, "password": "correct horse"}


@pytest.fixture
def client(live_server: LiveServer) -> Client:
    return Client(live_server.url)
