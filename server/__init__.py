"""The Elevate server: FastAPI REST under /api, websocket protocol v1 at /ws, the chat page at /.

`server.app.create_app(settings)` builds it; `elevate serve` (server.cli) runs it.
"""
