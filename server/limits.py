"""Input limits shared by REST and the websocket, so both refuse the same things alike."""

from __future__ import annotations

from server.errors import ApiError


def check_content(content: str, limit: int) -> None:
    """Refuse blank messages and messages over `limit` characters."""
    if not content.strip():
        raise ApiError(400, "invalid_request", "content is empty")
    if len(content) > limit:
        raise ApiError(
            400, "invalid_request", f"content has {len(content)} characters; the limit is {limit}"
        )
