"""Parsing client frames: each kind of bad input has its own stable code."""

from __future__ import annotations

import json

import pytest

from server.ws.frames import FrameError, Ping, Send, Subscribe, parse_frame


def test_good_frames_parse_to_their_models() -> None:
    frame = parse_frame('{"type": "subscribe", "conversation_id": "c", "ref": 3}')
    assert isinstance(frame, Subscribe) and frame.after_seq == 0 and frame.ref == 3
    send = parse_frame(
        json.dumps(
            {"type": "send", "conversation_id": "c", "client_msg_id": "m", "content": "hi", "x": 1}
        )
    )
    assert isinstance(send, Send) and send.attachments is None
    assert isinstance(parse_frame('{"type": "ping"}'), Ping)


@pytest.mark.parametrize(
    ("raw", "code", "ref"),
    [
        ("{", "bad_json", None),
        ("[]", "invalid_frame", None),
        ('{"ref": "a"}', "invalid_frame", "a"),
        ('{"type": "nope", "ref": 9}', "unknown_type", 9),
        ('{"type": "ping", "ref": true}', "invalid_frame", None),
        ('{"type": "subscribe", "conversation_id": "c", "after_seq": 1.5}', "invalid_frame", None),
        (
            '{"type": "send", "conversation_id": "c", "client_msg_id": "", "content": "x"}',
            "invalid_frame",
            None,
        ),
        ("[" * 100_000 + "]" * 100_000, "bad_json", None),
    ],
)
def test_bad_frames_have_stable_codes(raw: str, code: str, ref: object) -> None:
    with pytest.raises(FrameError) as error:
        parse_frame(raw)
    assert error.value.code == code and error.value.ref == ref and error.value.message


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "subscribe", "conversation_id": "c\x00"},
        {"type": "send", "conversation_id": "c", "client_msg_id": "m\x00", "content": "hi"},
        {"type": "send", "conversation_id": "c", "client_msg_id": "m", "content": "h\x00i"},
        {
            "type": "send",
            "conversation_id": "c",
            "client_msg_id": "m",
            "content": "hi",
            "attachments": [{"name\x00": "x"}],
        },
        {"type": "cancel", "conversation_id": "c", "turn_id": "\x00"},
        {"type": "typing", "conversation_id": "\x00"},
        {"type": "auth", "token": "t\x00"},
    ],
)
def test_a_nul_character_anywhere_is_an_invalid_frame(frame: dict[str, object]) -> None:
    with pytest.raises(FrameError) as error:
        parse_frame(json.dumps({**frame, "ref": 5}))
    assert error.value.code == "invalid_frame" and error.value.ref == 5
    assert "NUL" in str(error.value.details)


@pytest.mark.parametrize("after_seq", [2**31, 2**63, 2**64 + 1, -1])
def test_after_seq_beyond_an_integer_column_is_an_invalid_frame(after_seq: int) -> None:
    raw = json.dumps({"type": "subscribe", "conversation_id": "c", "after_seq": after_seq})
    with pytest.raises(FrameError) as error:
        parse_frame(raw)
    assert error.value.code == "invalid_frame"
    assert error.value.details[0]["field"] == "after_seq"
    assert parse_frame(raw.replace(str(after_seq), str(2**31 - 1)))


def test_nested_attachments_are_an_invalid_frame() -> None:
    deep: object = "x"
    for _ in range(260):
        deep = [deep]
    raw = json.dumps(
        {"type": "send", "conversation_id": "c", "client_msg_id": "m", "content": "hi"}
        | {"attachments": [deep]}
    )
    with pytest.raises(FrameError) as error:
        parse_frame(raw)
    assert error.value.code == "invalid_frame"
    assert error.value.details[0]["field"] == "attachments.0"
