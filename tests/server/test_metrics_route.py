"""`/metrics`: off by default, refused without the token when protected, and in the Prometheus
text format, counting the turns, tool calls and sockets of a live server."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.server.live import Api, LiveServer, socket

TOKEN = "scrape-me-0123456789"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape by (name, sorted labels); parsing fails on a bad exposition."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(scrape: dict, name: str, **labels: str) -> float:
    return scrape.get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(api: Api) -> dict:
    response = await api.http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


class TestOffByDefault:
    async def test_metrics_are_not_served(self, api: Api) -> None:
        response = await api.http.get("/metrics")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        assert "ELEVATE_METRICS_TOKEN" in response.json()["message"]


class TestProtected:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"metrics_token": TOKEN}

    async def test_refused_without_the_token(self, api: Api) -> None:
        for headers in (
            {},
            {"Authorization": "Bearer wrong-token"},
            {"Authorization": f"Basic {TOKEN}"},
            {"Authorization": f"Bearer {TOKEN}x"},
        ):
            response = await api.http.get("/metrics", headers=headers)
            assert response.status_code == 401, headers
            assert response.json()["code"] == "unauthenticated"
            assert response.headers["www-authenticate"] == "Bearer"
            assert "elevate_" not in response.text

    async def test_a_user_token_is_not_the_metrics_token(self, api: Api) -> None:
        alice = await api.register("Alice")
        response = await api.http.get("/metrics", headers=alice.headers)
        assert response.status_code == 401

    async def test_a_turn_is_counted(self, api: Api, server: LiveServer) -> None:
        alice = await api.register("Alice")
        helper = await api.ok(
            "POST",
            "/api/agents",
            alice,
            json={"name": "Helper", "description": "answers", "model": "offline:default"},
        )
        room = await api.conversation(alice, agents=(helper["id"],))
        before = await scrape(api)
        async with socket(server, alice.token) as client:
            await client.subscribe(room["id"])
            during = await scrape(api)
            await client.request(
                {
                    "type": "send",
                    "conversation_id": room["id"],
                    "client_msg_id": "m1",
                    "content": "hi",
                }
            )
            end = await client.until(lambda f: f["type"] == "turn.end")
            assert end["status"] == "completed"
            await server.services.runtime.wait_idle(room["id"])
        after = await scrape(api)

        def grew(name: str, **labels: str) -> float:
            return value(after, name, **labels) - value(before, name, **labels)

        assert grew("elevate_turns_started_total", kind="trigger") == 1
        assert grew("elevate_turns_finished_total", status="completed") == 1
        assert grew("elevate_triggers_total") == 1
        assert grew("elevate_turn_duration_seconds_count", status="completed") == 1
        assert grew("elevate_turn_first_token_seconds_count") == 1
        assert (
            value(during, "elevate_open_websockets") == value(before, "elevate_open_websockets") + 1
        )
        assert value(after, "elevate_queued_triggers") == 0


class TestOpen:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"metrics_enabled": True}

    async def test_served_without_a_token(self, api: Api) -> None:
        response = await api.http.get("/metrics")
        assert response.status_code == 200
        names = {family.name for family in text_string_to_metric_families(response.text)}
        assert {
            "elevate_turns_started",
            "elevate_turns_finished",
            "elevate_turn_duration_seconds",
            "elevate_turn_first_token_seconds",
            "elevate_tool_calls",
            "elevate_open_websockets",
            "elevate_queued_triggers",
            "elevate_bus_errors",
            "elevate_database_errors",
        } <= names
