"""Browser hardening headers on every HTTP response: a strict Content-Security-Policy (no inline
script or style, nothing from other origins, websockets only to this server), no framing, no
MIME sniffing, and no full URLs in Referer."""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")
STATIC_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
# FastAPI's API explorer pages load their script from a CDN and start it inline: no CSP there.
UNPOLICED = {"/docs", "/docs/oauth2-redirect", "/redoc"}


def content_security_policy(host: str | None) -> str:
    """The page's policy. `connect-src 'self'` covers ws(s) of this origin in current browsers;
    the host is spelled out too for older ones (only when it looks like a host name)."""
    connect = "'self'"
    if host and _HOST.match(host):
        connect += f" ws://{host} wss://{host}"
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data: https:",
            "font-src 'self'",
            f"connect-src {connect}",
            "manifest-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeaders:
    """Pure ASGI middleware (websockets pass straight through)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(STATIC_HEADERS)
        if scope.get("path") not in UNPOLICED:
            host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
            extra.append((b"content-security-policy", content_security_policy(host).encode()))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                added = [(n, v) for n, v in extra if n not in names]
                message = {**message, "headers": [*message.get("headers", []), *added]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
