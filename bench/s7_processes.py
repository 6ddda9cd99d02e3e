"""Scenario 7, two processes with Redis against one process: cross-process delivery latency.

Two people in a conversation with one agent. In the two-process setup the sender's socket is on
server process A and the receiver's on process B (Redis carries the events between them); in
the one-process setup both sockets are on one server with the in-process bus. A middle setup,
one process on the Redis bus, separates what Redis costs from what crossing processes costs.
All servers share one database (PostgreSQL when given, else a SQLite file) and are measured
interleaved. Latencies are taken at the receiver, from the moment the sender sent.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.elevate import fresh_database
from bench.fixtures import is_postgres
from bench.harness import Batch, Config, ScenarioResult, interleave
from bench.server import ROUND_TIMEOUT, ElevateServer, ServerRoom, server_missing

TITLE = "Two processes with Redis against one process: delivery to the other person"
UNIT = "ms"
TO_MESSAGE = "send -> message at the other socket"
TO_END = "send -> turn.end at the other socket"
SETUPS = {
    "1 process, in-process bus": (1, False),
    "1 process, Redis bus": (1, True),
    "2 processes, Redis bus": (2, True),
}
REFERENCE = "1 process, in-process bus"


async def one_send(room: ServerRoom, samples: dict[str, list[float]]) -> None:
    receiver = room.clients[1]
    message = receiver.expect('"message"', lambda f: room.ours(f) and f["type"] == "message")
    end = receiver.expect('"turn.end"', room.ours)
    sender_end = room.sender.expect('"turn.end"', room.ours)
    started = time.perf_counter()
    await room.send()
    await message
    samples[TO_MESSAGE].append((time.perf_counter() - started) * 1000)
    await end
    samples[TO_END].append((time.perf_counter() - started) * 1000)
    await sender_end


def setup_batch(room: ServerRoom, sends: int, samples: dict[str, list[float]]) -> Batch:
    async def batch() -> list[float]:
        for _ in range(sends):
            await asyncio.wait_for(one_send(room, samples), ROUND_TIMEOUT)
        return []

    return batch


async def run(config: Config) -> ScenarioResult:
    result = ScenarioResult("7", TITLE)
    missing = server_missing() or (
        None if config.redis_url else "not measured: no Redis URL given (--redis-url)"
    )
    if missing is not None:
        for metric in (TO_MESSAGE, TO_END):
            result.missing(metric, "2 processes, Redis bus", UNIT, missing)
        return result
    postgres = is_postgres(config.database_url)
    url = await fresh_database("s7", config, postgres=postgres)
    sends, rounds = config.scale(20, 3), config.scale(8, 2)
    servers: list[ElevateServer] = []
    samples: dict[str, dict[str, list[float]]] = {}
    batches: dict[str, Batch] = {}
    try:
        for name, (processes, redis) in SETUPS.items():
            server = await ElevateServer.start(
                "s7", config, processes=processes, redis=redis, database_url=url
            )
            servers.append(server)
            room = await server.room(users=2, process_of_client=_spread(processes))
            samples[name] = {TO_MESSAGE: [], TO_END: []}
            batches[name] = setup_batch(room, sends, samples[name])
        # A first round compiles every agent's graph and warms the connections; not counted.
        await interleave(batches, 1)
        for series in samples.values():
            for values in series.values():
                values.clear()
        await interleave(batches, rounds)
    finally:
        for server in servers:
            await server.stop()
    database = "PostgreSQL" if postgres else "SQLite file"
    for metric in (TO_MESSAGE, TO_END):
        for name in SETUPS:
            result.add(metric, name, UNIT, samples[name][metric], note=database)
        result.relate(metric, REFERENCE)
    return result


def _spread(processes: int) -> Any:
    return lambda index: index % processes
