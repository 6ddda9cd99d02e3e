"""The bare broadcast baseline: a `websockets` server that relays frames to every socket.

A client frame `{"broadcast": [frame, ...]}` makes the server send each listed frame, encoded
once, to every connected socket with `websockets.broadcast`: the least a server can do to fan
the same frames out. Run as `python -m bench.ws_broadcast --port N`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal

from websockets.asyncio.server import ServerConnection, broadcast, serve

CLIENTS: set[ServerConnection] = set()


async def handler(socket: ServerConnection) -> None:
    CLIENTS.add(socket)
    try:
        async for raw in socket:
            frames = json.loads(raw).get("broadcast", [])
            for frame in frames:
                broadcast(CLIENTS, json.dumps(frame))
    finally:
        CLIENTS.discard(socket)


async def main(host: str, port: int) -> None:
    stop = asyncio.get_running_loop().create_future()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set_result, None)
    async with serve(handler, host, port, max_size=2**20, max_queue=None):
        await stop


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        asyncio.run(main(args.host, args.port))
    else:
        uvloop.run(main(args.host, args.port))
