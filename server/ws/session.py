"""The reading half of a socket: authentication, limits, and one handler per client frame.

Frames are handled one at a time, in order, so answers come back in the order of the questions.
Every frame is checked against the caller's current role; failures become `error` frames with a
stable code and the socket stays open, except for the documented closes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from runtime.events import event
from server.attaching import claim_attachments, release
from server.errors import describe
from server.limits import check_content
from server.ratelimit import TokenBucket
from server.tracing_middleware import frame as frame_span
from server.ws import codes
from server.ws.codes import Close
from server.ws.connection import Connection
from server.ws.frames import (
    Auth,
    Cancel,
    Frame,
    FrameError,
    Ping,
    Send,
    Subscribe,
    Typing,
    Unsubscribe,
    parse_frame,
)
from server.ws.hub import user_brief
from store.conversations import Conversations
from store.enums import Role
from store.users import Users

if TYPE_CHECKING:
    from server.services import Services

log = logging.getLogger(__name__)
PROTOCOL_VERSION = 1


class _Gone(Exception):
    """The client disconnected."""


class Session:
    """Reads and answers the frames of one authenticated socket."""

    def __init__(self, connection: Connection, services: Services) -> None:
        self.connection, self.services = connection, services
        self.settings = services.settings
        self.bucket = TokenBucket(self.settings.frames_per_second, self.settings.frame_burst)
        self.violations = 0
        self.token_checked = 0.0

    async def run(self) -> None:
        try:
            if await self._authenticate():
                await self._read_loop()
        except _Gone:
            pass
        finally:
            self.connection.finish()

    # Authentication.

    async def _authenticate(self) -> bool:
        connection = self.connection
        token = connection.websocket.query_params.get("token")
        ref = None
        if not token:
            try:
                text = await asyncio.wait_for(self._receive(), codes.AUTH_TIMEOUT_SECONDS)
            except TimeoutError:
                return self._refuse("no auth frame in time", None)
            try:
                frame = parse_frame(text) if len(text) <= self.settings.max_frame_bytes else None
            except FrameError as exc:
                return self._refuse(f"the first frame must be auth ({exc.message})", exc.ref)
            if not isinstance(frame, Auth):
                return self._refuse("the first frame must be auth", getattr(frame, "ref", None))
            token, ref = frame.token, frame.ref
        user = await Users(self.services.db).user_for_token(token)
        if user is None:
            return self._refuse("the token is unknown, expired or revoked", ref)
        connection.user, connection.token = user, token
        self.token_checked = time.monotonic()
        if not await self.services.sockets.admit(connection):
            limit = self.settings.max_connections_per_user
            connection.error("too_many_connections", f"at most {limit} sockets per user", ref)
            connection.close(Close.TOO_MANY_CONNECTIONS, "too_many_connections")
            return False
        connection.reply(
            {
                "type": "ready",
                "user": {**user_brief(connection), "email": user.email},
                "protocol": PROTOCOL_VERSION,
                "connection_id": connection.id,
                "limits": {
                    "max_frame_bytes": self.settings.max_frame_bytes,
                    "max_message_chars": self.settings.max_message_chars,
                    "frames_per_second": self.settings.frames_per_second,
                    "frame_burst": self.settings.frame_burst,
                },
            },
            ref,
        )
        # The person's own events (their conversation list, notifications) only after `ready`,
        # which is always a socket's first frame.
        await self.services.user_feed.attach(connection)
        return True

    def _refuse(self, message: str, ref: Any) -> bool:
        self.connection.error("unauthenticated", message, ref)
        self.connection.close(Close.UNAUTHENTICATED, "unauthenticated")
        return False

    # Reading.

    async def _receive(self) -> str:
        message = await self.connection.websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise _Gone
        text = message.get("text")
        if text is None:
            # Binary frames are not part of the protocol; an undecodable text is no JSON either.
            return "\x00binary"
        return text

    async def _read_loop(self) -> None:
        connection = self.connection
        while not connection.closing:
            try:
                text = await asyncio.wait_for(self._receive(), self.settings.idle_timeout_seconds)
            except TimeoutError:
                connection.error("idle_timeout", "no frame received for too long")
                connection.close(Close.IDLE_TIMEOUT, "idle_timeout")
                return
            if not self._admit():
                continue
            if len(text) > self.settings.max_frame_bytes or (
                len(text) * 4 > self.settings.max_frame_bytes
                and len(text.encode()) > self.settings.max_frame_bytes
            ):
                limit = self.settings.max_frame_bytes
                connection.error("frame_too_large", f"frames are limited to {limit} bytes")
                continue
            frame: Frame | None = None
            try:
                frame = parse_frame(text)
                if not await self._token_alive():
                    return
                await self._dispatch(frame)
            except FrameError as exc:
                extra = {"details": exc.details} if exc.details else {}
                connection.error(exc.code, exc.message, exc.ref, **extra)
            except Exception as exc:
                self._report(exc, frame.ref if frame is not None else None)

    def _admit(self) -> bool:
        """The rate limit: a token per frame; persistent flooding closes the socket."""
        if self.bucket.take():
            self.violations = 0
            return True
        self.violations += 1
        self.connection.error("rate_limited", "too many frames; slow down")
        if self.violations >= codes.ABUSE_THRESHOLD:
            self.connection.close(Close.ABUSIVE, "rate_limited")
        return False

    async def _token_alive(self) -> bool:
        """Logout and expiry reach open sockets too, checked every few seconds."""
        if time.monotonic() - self.token_checked < codes.TOKEN_RECHECK_SECONDS:
            return True
        assert self.connection.token is not None
        if await Users(self.services.db).user_for_token(self.connection.token) is None:
            return self._refuse("the token expired or was revoked", None)
        self.token_checked = time.monotonic()
        return True

    def _report(self, exc: Exception, ref: Any) -> None:
        described = describe(exc)
        if described is None:
            log.exception("websocket frame failed", exc_info=exc)
            self.connection.error("internal_error", "the server failed on this frame", ref)
            return
        extra = {"details": described.details} if described.details is not None else {}
        self.connection.error(described.code, described.message, ref, **extra)

    # Handlers.

    async def _dispatch(self, frame: Frame) -> None:
        handler = {
            Ping: self._ping,
            Subscribe: self._subscribe,
            Unsubscribe: self._unsubscribe,
            Send: self._send,
            Cancel: self._cancel,
            Typing: self._typing,
            Auth: self._auth_again,
        }[type(frame)]
        with frame_span(frame.type, getattr(frame, "conversation_id", None)):
            await handler(frame)

    async def _require(self, conversation_id: str, minimum: str) -> str:
        from server.access import check_role

        assert self.connection.user is not None
        role = await Conversations(self.services.db).access(
            conversation_id, self.connection.user.id
        )
        return check_role(role, minimum)

    async def _ping(self, frame: Any) -> None:
        self.connection.reply({"type": "pong"}, frame.ref)

    async def _auth_again(self, frame: Any) -> None:
        raise FrameError("already_authenticated", "this socket is already authenticated", frame.ref)

    async def _subscribe(self, frame: Any) -> None:
        await self.services.hub.subscribe(
            self.connection,
            frame.conversation_id,
            frame.after_seq,
            frame.ref,
            after_edit_seq=frame.after_edit_seq,
        )

    async def _unsubscribe(self, frame: Any) -> None:
        if not await self.services.hub.unsubscribe(self.connection, frame.conversation_id):
            raise FrameError(
                "not_subscribed", "this socket is not subscribed to that conversation", frame.ref
            )
        self.connection.reply(
            {"type": "unsubscribed", "conversation_id": frame.conversation_id}, frame.ref
        )

    async def _send(self, frame: Any) -> None:
        await self._require(frame.conversation_id, Role.MEMBER.value)
        check_content(frame.content, self.settings.max_message_chars)
        assert self.connection.user is not None
        claimed = await claim_attachments(
            self.services,
            frame.conversation_id,
            self.connection.user.id,
            frame.client_msg_id,
            frame.attachments,
            frame.attachment_ids,
        )
        try:
            result = await self.services.runtime.post_user_message(
                frame.conversation_id,
                self.connection.user.id,
                frame.content,
                client_msg_id=frame.client_msg_id,
                attachments=claimed.attachments,
            )
        except BaseException:
            await release(self.services, frame.conversation_id, claimed)
            raise
        self.connection.reply(
            {
                "type": "ack",
                "conversation_id": frame.conversation_id,
                "client_msg_id": frame.client_msg_id,
                "seq": result.seq,
                "created": result.created,
            },
            frame.ref,
        )

    async def _cancel(self, frame: Any) -> None:
        await self._require(frame.conversation_id, Role.MEMBER.value)
        assert self.connection.user is not None
        cancelled = await self.services.runtime.cancel(
            frame.conversation_id, self.connection.user.id, frame.turn_id
        )
        self.connection.reply(
            {
                "type": "cancelled",
                "conversation_id": frame.conversation_id,
                "turn_id": frame.turn_id,
                "cancelled": cancelled,
            },
            frame.ref,
        )

    async def _typing(self, frame: Any) -> None:
        await self._require(frame.conversation_id, Role.MEMBER.value)
        await self.services.bus.publish(
            frame.conversation_id,
            event("typing", frame.conversation_id, user=user_brief(self.connection)),
        )
