"""Websocket protocol v1 at `/ws`: frames, connections, and the hub that maps subscriptions
to the event bus. docs/protocol.md describes every frame, error code and close code."""
