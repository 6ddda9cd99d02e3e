"""Two servers sharing one database and one Redis: events and removals cross processes."""

from __future__ import annotations

import pytest

from tests.server.live import Api, live_server, socket


@pytest.mark.redis
async def test_removal_through_one_server_cuts_a_socket_on_the_other(
    make_settings, redis_url: str | None
) -> None:
    if redis_url is None:
        pytest.skip("needs REDIS_URL: in-process buses do not cross servers")
    settings = make_settings()
    async with live_server(settings) as one, live_server(settings) as two:
        api = Api(one)
        alice, bob = await api.register("Alice"), await api.register("Bob")
        room = await api.conversation(alice, bob)
        bob_row = next(p for p in room["participants"] if p["user_id"] == bob.id)
        async with socket(two, bob.token) as b:
            await b.subscribe(room["id"])
            await api.ok(
                "POST",
                f"/api/conversations/{room['id']}/messages",
                alice,
                json={"client_msg_id": "x", "content": "across processes"},
            )
            message = await b.until(lambda f: f["type"] == "message")
            assert message["message"]["content"] == "across processes"
            response = await api.call(
                "DELETE", f"/api/conversations/{room['id']}/participants/{bob_row['id']}", alice
            )
            assert response.status_code == 204
            error = await b.until(lambda f: f["type"] == "error")
            assert error["code"] == "forbidden"
            assert (await b.until(lambda f: f["type"] == "unsubscribed"))["reason"] == "removed"
        await api.close()
