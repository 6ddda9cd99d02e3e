"""Stable websocket close codes (errors inside an open socket are `error` frames instead)."""

from __future__ import annotations

from enum import IntEnum


class Close(IntEnum):
    """Why the server closed a socket; clients decide from this whether to reconnect."""

    GOING_AWAY = 1001  # the server shuts down: reconnect elsewhere, resume by seq
    INTERNAL_ERROR = 1011  # a server bug: reconnect, resume by seq
    SLOW_CONSUMER = 4008  # the send queue overflowed: reconnect, resume by seq
    UNAUTHENTICATED = 4401  # no valid token in time, or the first frame was not `auth`
    FORBIDDEN_ORIGIN = 4403  # refused before accept (HTTP 403): Origin not allowed
    IDLE_TIMEOUT = 4408  # no frame from the client for `idle_timeout_seconds`
    TOO_MANY_CONNECTIONS = 4409  # the user already has `max_connections_per_user` sockets
    ABUSIVE = 4429  # too many consecutive rate-limit violations


ABUSE_THRESHOLD = 10  # consecutive rate-limited frames before the socket is closed
AUTH_TIMEOUT_SECONDS = 5.0  # time a socket without `?token=` has to send its `auth` frame
TOKEN_RECHECK_SECONDS = 30.0  # how often an open socket re-checks that its token still lives
