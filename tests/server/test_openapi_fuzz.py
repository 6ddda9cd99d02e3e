"""Property-based test of the whole REST API from its OpenAPI document: no input is a 5xx.

Schemathesis generates requests for every operation (data that fits the schema, and data that
does not) and sends them to a live server with a valid bearer token, on the suite's backend.
Path ids are first those of real rows, so that the handlers behind the 404s run too, then
random. It is bounded: a few examples per operation and mode, generation derandomized so that a
run is reproducible, and the random-ids pass only while a time budget lasts.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from runtime.settings import Settings
from tests.server.live import live_server_thread

EXAMPLES = 8  # per operation, mode and kind of ids
BUDGET_SECONDS = 40.0  # the random-ids pass runs only if the first took less
# Revoking the token would turn every later example into a 401.
SKIPPED = {"POST /api/auth/logout"}


@dataclass
class Found:
    """The 5xx answers, with what it takes to replay them."""

    errors: list[str] = field(default_factory=list)

    def check(self, case: Any, response: Any) -> None:
        if response.status_code >= 500:
            self.errors.append(
                f"{case.operation.label} -> {response.status_code}\n{case.as_curl_command()}"
            )


@pytest.fixture
def base_url(make_settings: Callable[..., Settings]) -> Iterator[str]:
    with live_server_thread(make_settings()) as url:
        yield url


def _seed(base_url: str) -> tuple[dict[str, str], dict[str, str]]:
    """A signed-in user who owns one of everything; the auth header and the real ids."""
    with httpx.Client(base_url=base_url, timeout=30) as http:
        body = {"email": "fuzz@example.com", "password": "correct horse", "name": "Fuzz"}
        auth = http.post("/api/auth/register", json=body).raise_for_status().json()
        headers = {"Authorization": f"Bearer {auth['token']}"}

        def call(method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
            response = http.request(method, path, json=payload, headers=headers)
            return response.raise_for_status().json()

        other = (
            http.post(
                "/api/auth/register",
                json={"email": "other@example.com", "password": "correct horse", "name": "Other"},
            )
            .raise_for_status()
            .json()["user"]
        )
        agent = call("POST", "/api/agents", {"name": "Fuzzed"})
        prompt = call("POST", "/api/prompts", {"title": "T", "content": "C"})
        attachment = call(
            "POST",
            "/api/attachments",
            {"owner_type": "agent", "owner_id": agent["id"], "prompt_id": prompt["id"]},
        )
        group = call("POST", "/api/groups", {"name": "G"})
        member = call(
            "POST", f"/api/groups/{group['id']}/members", {"kind": "user", "user_id": other["id"]}
        )
        room = call(
            "POST",
            "/api/conversations",
            {"title": "R", "participants": [{"kind": "user", "user_id": other["id"]}]},
        )
        call("POST", f"/api/conversations/{room['id']}/messages", {"content": "hello"})
        guest = next(p for p in room["participants"] if p["user_id"] == other["id"])
        ids = {
            "agent_id": agent["id"],
            "prompt_id": prompt["id"],
            "attachment_id": attachment["id"],
            "group_id": group["id"],
            "member_id": member["id"],
            "conversation_id": room["id"],
            "participant_id": guest["id"],
            "tool_name": "lookup",
        }
    return headers, ids


def _in_order(operations: list[Any]) -> list[Any]:
    """Deleting last, so that the real rows live while the other operations run."""
    return sorted(operations, key=lambda op: op.method.upper() == "DELETE")


def _run(operation: Any, mode: GenerationMode, found: Found, **fixed: Any) -> None:
    base_url, headers = fixed.pop("base_url"), fixed.pop("headers")

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode, **fixed))
    def send(case: Any) -> None:
        found.check(case, case.call(base_url=base_url, headers=headers, timeout=30))

    # Unsatisfiable: nothing to generate in this mode (no parameter to get wrong).
    with contextlib.suppress(Unsatisfiable):
        send()


def test_no_generated_request_gets_a_server_error(base_url: str) -> None:
    """Every operation in both modes with the real ids first; then, while the time budget
    lasts, again with random ids."""
    headers, ids = _seed(base_url)
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    operations = _in_order([result.ok() for result in schema.get_all_operations()])
    operations = [op for op in operations if op.label not in SKIPPED]
    assert len(operations) > 30
    found, started = Found(), time.monotonic()
    for real_ids in (True, False):
        for operation in operations:
            real = {k: v for k, v in ids.items() if "{" + k + "}" in operation.path}
            if not real_ids and not real:
                continue
            fixed = {"path_parameters": real} if real_ids and real else {}
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _run(operation, mode, found, base_url=base_url, headers=headers, **fixed)
        if time.monotonic() - started > BUDGET_SECONDS:
            break
    assert not found.errors, "\n\n".join(found.errors)
