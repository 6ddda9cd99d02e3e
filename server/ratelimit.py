"""Rate limits: a token bucket for websocket frames and a failure counter for logins.

Both live in process memory: a bucket belongs to one socket anyway, and failed-login counts per
process still cap a guessing attack at (processes x limit) per window.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque


class TokenBucket:
    """Allows `rate` events per second on average, with bursts up to `burst`."""

    def __init__(self, rate: float, burst: int, clock=time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, max(1, burst), clock
        self.tokens = float(self.burst)
        self.updated = clock()

    def take(self) -> bool:
        """Spend one token if there is one."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class FailureLimiter:
    """Counts failures per key in a sliding window; a key over `limit` is blocked until the
    oldest failure leaves the window."""

    def __init__(self, limit: int = 5, window_seconds: float = 300.0, clock=time.monotonic):
        self.limit, self.window, self.clock = limit, window_seconds, clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def retry_after(self, *keys: str) -> float:
        """Seconds until every key may try again (0 when none is blocked)."""
        now = self.clock()
        wait = 0.0
        for key in keys:
            failures = self._prune(key, now)
            if len(failures) >= self.limit:
                wait = max(wait, failures[0] + self.window - now)
        return wait

    def fail(self, *keys: str) -> None:
        now = self.clock()
        for key in keys:
            self._prune(key, now).append(now)

    def reset(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)

    def _prune(self, key: str, now: float) -> deque[float]:
        failures = self._failures[key]
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures
