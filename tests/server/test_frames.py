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
