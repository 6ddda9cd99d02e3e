"""The sequencer on its own: any arrival order, with late, lost and repeated events, comes out
as every seq once, in order; other events keep their order behind the messages they followed."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from server.ws.sequencer import Sequencer, awaited_seq, message_seq


def _message(seq: int) -> dict[str, Any]:
    return {"type": "message", "conversation_id": "c", "seq": seq, "message": {"seq": seq}}


class Stored:
    """The messages a database would hold: all of 1..n, readable by seq."""

    def __init__(self, n: int, failures: int = 0) -> None:
        self.n, self.failures, self.reads = n, failures, 0

    async def fetch(self, after_seq: int, limit: int) -> list[dict[str, Any]]:
        self.reads += 1
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database away")
        return [_message(s) for s in range(after_seq + 1, min(self.n, after_seq + limit) + 1)]


async def _run(
    arrivals: list[dict[str, Any]], baseline: int, stored: Stored, *, max_held: int = 10_000
) -> tuple[list[dict[str, Any]], int]:
    out: list[dict[str, Any]] = []
    stalls = 0

    def stalled() -> None:
        nonlocal stalls
        stalls += 1

    sequencer = Sequencer(out.append, stored.fetch, max_held=max_held, on_stalled=stalled)
    sequencer.fill_after = 0.001
    for index, item in enumerate(arrivals):
        if index == len(arrivals) // 2:
            sequencer.start(baseline)  # events heard before the baseline was read wait for it
        sequencer.push(item)
        if index % 3 == 0:
            await asyncio.sleep(0)
    if len(arrivals) < 2:
        sequencer.start(baseline)
    for _ in range(2_000):
        if not sequencer.held:
            break
        await asyncio.sleep(0.001)
    await sequencer.close()
    return out, stalls


@st.composite
def _scenario(draw: st.DrawFn) -> tuple[list[dict[str, Any]], int, int]:
    n = draw(st.integers(1, 30))
    baseline = draw(st.integers(0, n))
    lost = draw(st.sets(st.integers(1, n)))
    repeated = draw(st.lists(st.integers(1, n), max_size=5))
    items = [_message(s) for s in range(1, n + 1) if s not in lost] + [
        _message(s) for s in repeated
    ]
    items += [{"type": "typing", "n": i} for i in range(draw(st.integers(0, 5)))]
    ends = draw(st.lists(st.integers(1, n), max_size=4))
    items += [{"type": "turn.end", "message_seq": s, "n": i} for i, s in enumerate(ends)]
    return draw(st.permutations(items)), baseline, n


@settings(max_examples=150, deadline=None)
@given(_scenario())
def test_any_arrival_order_comes_out_in_seq_order_once(
    scenario: tuple[list[dict[str, Any]], int, int],
) -> None:
    arrivals, baseline, n = scenario
    out, stalls = asyncio.run(_run(arrivals, baseline, Stored(n)))
    heard = [s for s in map(message_seq, arrivals) if s is not None]
    awaited = [s for s in map(awaited_seq, arrivals) if s is not None]
    top = max([baseline, *heard, *awaited])
    sent = [message_seq(e) for e in out]
    assert [s for s in sent if s is not None] == list(range(baseline + 1, top + 1))
    others = [e for e in out if e["type"] != "message"]
    assert others == [e for e in arrivals if e["type"] != "message"]
    for index, item in enumerate(out):  # nothing overtakes the message it names
        if (seq := awaited_seq(item)) is not None and seq > baseline:
            assert seq in sent[:index]
    assert stalls == 0


async def test_a_gap_waits_for_its_event_before_reading_the_database() -> None:
    stored = Stored(3)
    out: list[dict[str, Any]] = []
    sequencer = Sequencer(out.append, stored.fetch, max_held=100, on_stalled=lambda: None)
    sequencer.start(0)
    sequencer.push(_message(2))
    sequencer.push({"type": "turn.end", "message_seq": 2})
    assert out == []
    sequencer.push(_message(1))  # in time: no database read
    assert [e.get("seq", e["type"]) for e in out] == [1, 2, "turn.end"]
    assert stored.reads == 0
    await sequencer.close()


async def test_a_turn_end_whose_message_event_is_lost_waits_for_it_from_the_database() -> None:
    stored = Stored(2)
    out: list[dict[str, Any]] = []
    sequencer = Sequencer(out.append, stored.fetch, max_held=100, on_stalled=lambda: None)
    sequencer.fill_after = 0.001
    sequencer.start(1)
    sequencer.push({"type": "turn.end", "message_seq": 2})
    sequencer.push({"type": "turn.end", "message_seq": None})
    for _ in range(1_000):
        if len(out) == 3:
            break
        await asyncio.sleep(0.005)
    assert [(e["type"], e.get("seq")) for e in out] == [
        ("message", 2),
        ("turn.end", None),
        ("turn.end", None),
    ]
    assert out[1]["message_seq"] == 2
    await sequencer.close()


async def test_a_database_that_fails_is_asked_again_and_nothing_is_skipped() -> None:
    stored = Stored(3, failures=2)
    out: list[dict[str, Any]] = []
    sequencer = Sequencer(out.append, stored.fetch, max_held=100, on_stalled=lambda: None)
    sequencer.fill_after = 0.001
    sequencer.start(0)
    sequencer.push(_message(3))
    for _ in range(1_000):
        if len(out) == 3:
            break
        await asyncio.sleep(0.005)
    assert [e["seq"] for e in out] == [1, 2, 3] and stored.reads == 3
    await sequencer.close()


async def test_too_much_held_behind_a_gap_reports_a_stall() -> None:
    stalls: list[int] = []
    sequencer = Sequencer(
        lambda item: None, Stored(0).fetch, max_held=3, on_stalled=lambda: stalls.append(1)
    )
    sequencer.start(0)
    for seq in range(2, 7):
        sequencer.push(_message(seq))
    assert stalls == [1] and len(sequencer.held) < 3
    await sequencer.close()


async def test_a_seq_the_database_never_has_stalls_the_room_instead_of_muting_it() -> None:
    stalls: list[int] = []
    stored = Stored(1)  # seq 2 is announced by nobody and stored nowhere
    out: list[dict[str, Any]] = []
    sequencer = Sequencer(
        out.append, stored.fetch, max_held=100, on_stalled=lambda: stalls.append(1)
    )
    sequencer.fill_after = 0.001
    sequencer.start(0)
    sequencer.push(_message(3))
    for _ in range(2_000):
        if stalls:
            break
        await asyncio.sleep(0.005)
    assert stalls == [1] and [e["seq"] for e in out] == [1]
    assert not sequencer.held
    await sequencer.close()
    sequencer.push(_message(4))  # a closed sequencer takes nothing more
    assert not sequencer.held and [e["seq"] for e in out] == [1]
