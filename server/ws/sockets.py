"""Open sockets by token, so that a revoked token loses its sockets at once, in every process.

Logout (any revocation) publishes the token's hash on the bus; each process closes the sockets
it holds for that hash with 4401 after an `error` frame `token_revoked`. Sockets also take a slot
(`server.ws.slots`) so the per-user cap holds across processes.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import TYPE_CHECKING

from runtime.bus import Event, Subscription
from server.ws.codes import Close
from server.ws.connection import Connection
from server.ws.slots import create_slots
from store.users import Users, hash_token

if TYPE_CHECKING:
    from server.services import Services

log = logging.getLogger(__name__)
# Not a conversation id (those are ULIDs), so it shares the bus without meeting a room.
REVOCATIONS = "__revoked_tokens__"


class Sockets:
    """This process's authenticated sockets by token hash, and their socket slots."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.slots = create_slots(services.settings.redis_url)
        self.by_token: dict[str, set[Connection]] = defaultdict(set)
        self._subscription: Subscription | None = None

    async def start(self) -> None:
        await self.slots.start()
        self._subscription = await self.services.bus.subscribe(REVOCATIONS, self._heard)

    async def close(self) -> None:
        if self._subscription is not None:
            await self.services.bus.unsubscribe(self._subscription)
        await self.slots.close()

    async def admit(self, connection: Connection) -> bool:
        """Count an authenticated socket; False when its user is at the socket cap."""
        assert connection.user is not None and connection.token is not None
        user_id, limit = connection.user.id, self.services.settings.max_connections_per_user
        if not await self.slots.acquire(user_id, connection.id, limit):
            return False
        if not self.services.hub.register(connection):
            await self.slots.release(user_id, connection.id)
            return False
        key = hash_token(connection.token)
        self.by_token[key].add(connection)
        # A logout between the session's token check and now found no socket to close.
        if await Users(self.services.db).user_for_token(connection.token) is None:
            self._cut(connection)
        return True

    async def release(self, connection: Connection) -> None:
        """Forget a closing socket and give its slot back."""
        if connection.user is None or connection.token is None:
            return
        await self.services.user_feed.detach(connection)
        key = hash_token(connection.token)
        held = self.by_token.get(key)
        if held is not None:
            held.discard(connection)
            if not held:
                del self.by_token[key]
        await self.slots.release(connection.user.id, connection.id)

    async def revoked(self, token_hash: str) -> None:
        """A token was revoked: close its sockets here now, and in the other processes."""
        self._heard({"type": "token.revoked", "token_hash": token_hash})
        await self.services.bus.publish(
            REVOCATIONS, {"type": "token.revoked", "token_hash": token_hash}
        )

    def _heard(self, item: Event) -> None:
        if item.get("type") != "token.revoked":
            return
        for connection in list(self.by_token.get(str(item.get("token_hash")), ())):
            self._cut(connection)

    @staticmethod
    def _cut(connection: Connection) -> None:
        connection.error("unauthenticated", "signed out: this socket's token was revoked")
        connection.close(Close.UNAUTHENTICATED, "token_revoked")
