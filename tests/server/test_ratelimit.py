"""The token bucket and the failure counter, on a fake clock."""

from __future__ import annotations

from server.ratelimit import FailureLimiter, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_bursts_then_the_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=2.0, burst=3, clock=clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.now = 0.5
    assert [bucket.take(), bucket.take()] == [True, False]
    clock.now = 100.0
    assert sum(bucket.take() for _ in range(10)) == 3


def test_failures_block_until_the_window_passes() -> None:
    clock = Clock()
    limiter = FailureLimiter(limit=2, window_seconds=10, clock=clock)
    limiter.fail("a")
    assert limiter.retry_after("a") == 0
    clock.now = 4
    limiter.fail("a")
    assert limiter.retry_after("a", "b") == 6
    clock.now = 9
    assert limiter.retry_after("a") == 1
    clock.now = 10  # the first failure leaves the window
    assert limiter.retry_after("a") == 0
    limiter.fail("a")
    limiter.reset("a")
    assert limiter.retry_after("a") == 0
