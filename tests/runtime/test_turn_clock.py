"""The turn clock stops while a turn waits for a person, and a delegate's wait stops its
caller's clock too."""

from __future__ import annotations

import asyncio

from runtime.turn_clock import TurnClock


async def _work(clock: TurnClock, busy: float, waiting: float) -> str:
    await asyncio.sleep(busy)
    with clock.paused():
        await asyncio.sleep(waiting)
    await asyncio.sleep(busy)
    return "done"


async def test_a_task_over_its_limit_is_reported() -> None:
    clock = TurnClock()
    task = asyncio.create_task(asyncio.sleep(5))
    assert await clock.wait(task, 0.05) is False
    assert not task.done(), "wait never cancels the task"
    task.cancel()


async def test_time_paused_does_not_count() -> None:
    clock = TurnClock()
    task = asyncio.create_task(_work(clock, busy=0.05, waiting=0.4))
    assert await clock.wait(task, 0.25) is True
    assert task.result() == "done" and clock.paused_seconds() >= 0.4


async def test_active_time_after_a_pause_still_counts() -> None:
    clock = TurnClock()
    task = asyncio.create_task(_work(clock, busy=0.3, waiting=0.1))
    assert await clock.wait(task, 0.4) is False
    task.cancel()


async def test_a_nested_clock_pauses_its_parent() -> None:
    parent = TurnClock()
    with parent.active():
        child = TurnClock.nested()
    assert child.parent is parent and TurnClock.nested().parent is None
    task = asyncio.create_task(_work(child, busy=0.02, waiting=0.4))
    assert await parent.wait(task, 0.2) is True
    assert parent.paused_seconds() >= 0.4
