"""Password guessing is slowed down, and nobody can lock another person out.

Every password check (login, and registering an address that is taken) goes through three
counters with exponential backoff (`server.ratelimit.Backoff`):

- per client address: many free failures, so people behind one NAT do not slow each other;
- per account and address: a few free failures, then the wait doubles; only the guesser's own
  address is slowed, so a stranger failing with your email does not touch you;
- per account from anywhere: stops guessing one password from many addresses, with a short cap;
  it does not apply to an address that signed in to this account in the last 30 days, so a third
  party cannot keep the owner out of their usual place.

"Account" is the address typed, registered or not, and a refusal is the same 429 either way, so
the limits tell nothing about who is registered. The counters live in Redis when configured, so
they hold across server processes.
"""

from __future__ import annotations

import math

from server.errors import ApiError
from server.ratelimit import Backoff, Failures

BY_ADDRESS = Backoff(free=20, base=5.0, cap=300.0, window=3600.0)
BY_ACCOUNT_AND_ADDRESS = Backoff(free=3, base=5.0, cap=300.0, window=3600.0)
BY_ACCOUNT = Backoff(free=10, base=5.0, cap=60.0, window=3600.0)
TRUST_SECONDS = 30 * 24 * 3600.0


class LoginLimits:
    """The three counters around one password check."""

    def __init__(self, failures: Failures) -> None:
        self.failures = failures

    async def check(self, email: str, address: str) -> None:
        """Raise 429 `rate_limited` (with `Retry-After`) while any counter makes this wait."""
        waits = [
            await self.failures.wait(f"address:{address}", BY_ADDRESS),
            await self.failures.wait(f"pair:{email}|{address}", BY_ACCOUNT_AND_ADDRESS),
        ]
        if not await self.failures.marked(f"trusted:{email}|{address}"):
            waits.append(await self.failures.wait(f"account:{email}", BY_ACCOUNT))
        wait = max(waits)
        if wait > 0:
            raise ApiError(
                429,
                "rate_limited",
                "too many failed attempts; try again later",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )

    async def failed(self, email: str, address: str) -> None:
        await self.failures.fail(f"address:{address}", BY_ADDRESS)
        await self.failures.fail(f"pair:{email}|{address}", BY_ACCOUNT_AND_ADDRESS)
        await self.failures.fail(f"account:{email}", BY_ACCOUNT)

    async def succeeded(self, email: str, address: str) -> None:
        """The owner proved the password: this address is trusted for the account and its own
        counter restarts. The address and account counters stay, or a guesser could reset
        them (with an account of their own, or by waiting for the owner to sign in)."""
        await self.failures.forget(f"pair:{email}|{address}")
        await self.failures.mark(f"trusted:{email}|{address}", TRUST_SECONDS)
