"""The MCP tests' server: the test app over streamable HTTP, killed after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.mcp_server import HttpMcpServer, running_http_server


@pytest.fixture
def http_server() -> Iterator[HttpMcpServer]:
    with running_http_server() as server:
        yield server
