"""Scenario 3, end to end over websockets: `send` to the first `delta` and to `turn.end`.

One server process (uvicorn subprocess, loopback), conversations of five people (five users,
one socket each) and one agent. In a round, the sender of each of the first 1, 10 or 100
conversations sends at the same moment; the round ends when every socket of those
conversations has seen `turn.end`. Latencies are measured at the sender. The three loads are
interleaved round by round; ratios compare each with one conversation alone. The server runs on
SQLite, then on PostgreSQL when one is given.
"""

from __future__ import annotations

import asyncio
import time

from bench.fixtures import is_postgres
from bench.harness import OURS, Batch, Config, ScenarioResult, interleave
from bench.server import ROUND_TIMEOUT, ElevateServer, ServerRoom, server_missing

TITLE = "End to end over websockets: send to first delta and to turn end"
UNIT = "ms"
CLIENTS = 5
FIRST_DELTA = "send -> first delta"
TURN_END = "send -> turn.end"


async def one_send(room: ServerRoom, deltas: list[float], ends: list[float]) -> None:
    first = room.sender.expect('"delta"', room.ours)
    end = room.sender.expect('"turn.end"', room.ours)
    everyone = [client.expect('"turn.end"', room.ours) for client in room.clients[1:]]
    started = time.perf_counter()
    await room.send()
    await first
    deltas.append((time.perf_counter() - started) * 1000)
    await end
    ends.append((time.perf_counter() - started) * 1000)
    await asyncio.gather(*everyone)


def load_batch(rooms: list[ServerRoom], repeats: int, samples: dict[str, list[float]]) -> Batch:
    async def batch() -> list[float]:
        for _ in range(repeats):
            sends = (one_send(room, samples[FIRST_DELTA], samples[TURN_END]) for room in rooms)
            await asyncio.wait_for(asyncio.gather(*sends), ROUND_TIMEOUT)
        return []

    return batch


def label(conversations: int) -> str:
    return f"{OURS}, {conversations} conv x {CLIENTS} clients"


async def run(config: Config) -> ScenarioResult:
    result = ScenarioResult("3", TITLE)
    loads = (1, 10, 100) if not config.quick else (1, 3)
    missing = server_missing()
    if missing is not None:
        for metric in (FIRST_DELTA, TURN_END):
            result.missing(metric, OURS, UNIT, missing)
        return result
    await _backend(config, result, loads, postgres=False)
    if is_postgres(config.database_url):
        await _backend(config, result, loads, postgres=True)
    return result


async def _backend(
    config: Config, result: ScenarioResult, loads: tuple[int, ...], *, postgres: bool
) -> None:
    backend = "PostgreSQL" if postgres else "SQLite"
    profile = None
    if config.profile_dir is not None and not postgres:
        profile = config.profile_dir / "s3_server.prof"
    server = await ElevateServer.start(
        "s3",
        config,
        settings={"max_connections_per_user": max(loads) + 10},
        postgres=postgres,
        profile=profile,
    )
    samples = {n: {FIRST_DELTA: [], TURN_END: []} for n in loads}
    try:
        people = await server.register(CLIENTS)
        rooms = [await server.room(people=people) for _ in range(max(loads))]
        # Each conversation answers once before timing: every agent's graph gets compiled.
        await load_batch(rooms, 1, {FIRST_DELTA: [], TURN_END: []})()
        batches = {str(n): load_batch(rooms[:n], _repeats(n, config), samples[n]) for n in loads}
        await interleave(batches, config.scale(6, 2))
    finally:
        await server.stop()
    for metric in (FIRST_DELTA, TURN_END):
        case = f"{backend}: {metric}"
        for n in loads:
            result.add(case, label(n), UNIT, samples[n][metric])
        result.relate(case, label(1))


def _repeats(conversations: int, config: Config) -> int:
    """Rounds per batch: more for light loads, so every load gathers enough samples."""
    if config.quick:
        return 1
    return max(1, 30 // conversations)
