"""The MCP example works end to end: its stdio server is started, synced, granted and called."""

from __future__ import annotations

import pytest

from examples.mcp_server.try_notes import main


async def test_the_notes_server_is_synced_granted_and_called(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTES_TEAM", "blue")
    result = await main(database_url)
    assert result["tools"] == ["notes__find_notes", "notes__save_note", "notes__team_name"]
    assert result["saved"] == "saved 'plan'"
    assert result["found"] == "plan"
    assert result["refused"] == "tool_not_granted"
