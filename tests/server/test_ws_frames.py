"""Bad frames get an `error` frame with a stable code, and the socket keeps working."""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import connect as connect_sync

from tests.server.live import WAIT, Api, LiveServer, live_server_thread, socket


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"max_frame_bytes": 2048, "frames_per_second": 10_000, "frame_burst": 10_000}


BAD_FRAMES = [
    ("not json", "bad_json"),
    ("{'single': 'quotes'}", "bad_json"),
    ("[1, 2, 3]", "invalid_frame"),
    ('"just a string"', "invalid_frame"),
    ("{}", "invalid_frame"),
    ('{"type": 5}', "invalid_frame"),
    ('{"type": "launch_missiles"}', "unknown_type"),
    ('{"type": "subscribe"}', "invalid_frame"),
    ('{"type": "subscribe", "conversation_id": 12}', "invalid_frame"),
    ('{"type": "subscribe", "conversation_id": "x", "after_seq": "3"}', "invalid_frame"),
    ('{"type": "subscribe", "conversation_id": "x", "after_seq": -1}', "invalid_frame"),
    ('{"type": "send", "conversation_id": "x", "content": "hi"}', "invalid_frame"),
    (
        '{"type": "send", "conversation_id": "x", "client_msg_id": "c", "content": ""}',
        "invalid_frame",
    ),
    (
        '{"type": "send", "conversation_id": "x", "client_msg_id": "c", "content": ["a"]}',
        "invalid_frame",
    ),
    ('{"type": "cancel"}', "invalid_frame"),
    ('{"type": "typing", "conversation_id": null}', "invalid_frame"),
    ('{"type": "auth", "token": "again"}', "already_authenticated"),
    ('{"type": "unsubscribe", "conversation_id": "nope"}', "not_subscribed"),
    ('{"type": "subscribe", "conversation_id": "nope"}', "not_found"),
]


@pytest.mark.parametrize(("raw", "code"), BAD_FRAMES)
async def test_bad_frame_gets_its_error_and_the_socket_lives(
    api: Api, server: LiveServer, raw: str, code: str
) -> None:
    alice = await api.register("Alice")
    async with socket(server, alice.token) as a:
        await a.send(raw)
        error = await a.recv()
        assert error["type"] == "error" and error["code"] == code, error
        assert error["message"]
        assert (await a.request({"type": "ping"}))["type"] == "pong"


async def test_errors_echo_the_ref_and_name_the_field(api: Api, server: LiveServer) -> None:
    alice = await api.register("Alice")
    async with socket(server, alice.token) as a:
        error = await a.request({"type": "subscribe", "conversation_id": 12})
        assert error["code"] == "invalid_frame"
        assert [d["field"] for d in error["details"]] == ["conversation_id"]
        error = await a.request({"type": "nope"})
        assert error["code"] == "unknown_type"


async def test_oversized_frame_and_message(api: Api, server: LiveServer) -> None:
    alice = await api.register("Alice")
    room = await api.conversation(alice)
    async with socket(server, alice.token) as a:
        await a.send(json.dumps({"type": "ping", "pad": "x" * 3000}))
        assert (await a.recv())["code"] == "frame_too_large"
        # Multi-byte text counts in bytes: 700 characters of 4 bytes each.
        await a.send(json.dumps({"type": "ping", "pad": "😀" * 700}, ensure_ascii=False))
        assert (await a.recv())["code"] == "frame_too_large"
        assert (await a.request({"type": "ping"}))["type"] == "pong"
        await a.conn.send(b"\x00\x01binary")
        assert (await a.recv())["code"] == "bad_json"
        error = await a.request(
            {"type": "send", "conversation_id": room["id"], "client_msg_id": "c", "content": "  "}
        )
        assert error["code"] == "invalid_request"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
frame_types = st.sampled_from(
    ["auth", "subscribe", "unsubscribe", "send", "cancel", "typing", "ping", "pong", "", "x"]
)
frames = st.one_of(
    st.text(max_size=200),
    json_values.map(json.dumps),
    st.fixed_dictionaries(
        {"type": frame_types},
        optional={
            "conversation_id": json_values,
            "after_seq": json_values,
            "client_msg_id": json_values,
            "content": json_values,
            "turn_id": json_values,
            "ref": json_values,
            "token": json_values,
        },
    ).map(json.dumps),
)


def test_random_frames_never_break_the_socket(make_settings) -> None:
    """Property: whatever a client sends, the server answers with frames (never a crash or a
    closed socket), every error has a code and a message, and a ping still gets a pong."""
    limits = {"max_frame_bytes": 2048, "frames_per_second": 10_000, "frame_burst": 10_000}
    with (
        live_server_thread(make_settings(**limits)) as base_url,
        httpx.Client(base_url=base_url, timeout=WAIT) as http,
    ):
        body = {"email": "fuzz@example.com", "password": "correct horse", "name": "Fuzz"}
        token = http.post("/api/auth/register", json=body).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        room = http.post(
            "/api/conversations", json={"title": "Fuzz", "participants": []}, headers=headers
        ).json()
        ws_url = base_url.replace("http", "ws", 1) + f"/ws?token={token}"
        with connect_sync(ws_url, proxy=None) as ws:
            assert json.loads(ws.recv(timeout=WAIT))["type"] == "ready"
            pings = itertools.count()

            @settings(
                max_examples=60,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            )
            @given(batch=st.lists(frames, min_size=1, max_size=4))
            def throw(batch: list[str]) -> None:
                for raw in batch:
                    ws.send(raw.replace('"x"', json.dumps(room["id"]), 1))
                ref = f"ping-{next(pings)}"
                ws.send(json.dumps({"type": "ping", "ref": ref}))
                while True:
                    frame = json.loads(ws.recv(timeout=WAIT))
                    if frame["type"] == "error":
                        assert frame["code"] != "internal_error" and frame["message"], frame
                    if frame.get("ref") == ref:
                        assert frame["type"] == "pong"
                        return

            throw()
            assert ws.close_code is None
