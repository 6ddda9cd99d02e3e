"""Encode each event to JSON once per process instead of once per socket.

The bus hands the same event dict to every local subscriber, so the text can be cached by the
dict's identity (holding the dict, so its id cannot be reused while cached). Measure with
`BENCH_SERVER_APP=bench.experiments.encode_once:create python -m bench --only 4`.
"""

from __future__ import annotations

import json
from typing import Any

from bench.server_app import create as create_bench_app

CACHE_LIMIT = 10_000
_encoded: dict[int, tuple[dict[str, Any], str]] = {}


def encode(frame: dict[str, Any]) -> str:
    hit = _encoded.get(id(frame))
    if hit is not None and hit[0] is frame:
        return hit[1]
    if len(_encoded) >= CACHE_LIMIT:
        _encoded.clear()
    text = json.dumps(frame, separators=(",", ":"))
    _encoded[id(frame)] = (frame, text)
    return text


def create() -> Any:
    from server.ws import connection

    async def write_loop(self: Any) -> None:
        try:
            while True:
                frame = await self.queue.get()
                if frame is connection._CLOSE:
                    return
                await self.websocket.send_text(encode(frame))
        except Exception:
            connection.log.debug("write failed on %s", self.id, exc_info=True)
        finally:
            self.done.set()

    connection.Connection.write_loop = write_loop
    return create_bench_app()
