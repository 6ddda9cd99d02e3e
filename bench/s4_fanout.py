"""Scenario 4, fan-out: frames delivered per second to 1,000 sockets subscribed to one room.

Ours: one server process (uvicorn), 1,000 sockets of one user subscribed to one conversation;
one of them sends a message that mentions the agent, and every socket receives the message, the
turn's start, deltas, reply and end. The baseline: a bare `websockets` server that broadcasts the
very same frames (captured from one of our sockets) to 1,000 sockets. A round ends when every
socket has seen `turn.end`; the rate is frames received by all sockets over the round's time.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench.crowd import Client, close_all, connect_many
from bench.frames import turn_frames
from bench.harness import OURS, Batch, Config, ScenarioResult, Target, compare, interleave
from bench.processes import broadcast_server
from bench.server import SUBSCRIBE_CONCURRENCY, ElevateServer, server_missing

TITLE = "Fan-out: deliveries per second to subscribed sockets"
UNIT = "frames/s"
BARE = "websockets broadcast (bare)"
END_MARKER = '"turn.end"'
# An app factory (module:function) measured beside ours in the same run: a candidate fix.
EXPERIMENT = os.environ.get("BENCH_EXPERIMENT_APP", "")
ROUND_TIMEOUT = 120.0


async def fan_out_round(clients: list[Client], trigger: Callable[[], Awaitable[Any]]) -> float:
    """Frames received by all clients per second, from the trigger to the last `turn.end`."""
    before = sum(client.frames for client in clients)
    ends = [client.expect(END_MARKER) for client in clients]
    started = time.perf_counter()
    await trigger()
    await asyncio.wait_for(asyncio.gather(*ends), ROUND_TIMEOUT)
    elapsed = time.perf_counter() - started
    return (sum(client.frames for client in clients) - before) / elapsed


def bare_batch(clients: list[Client], frames: list[dict[str, Any]], repeats: int) -> Batch:
    async def batch() -> list[float]:
        trigger = clients[0]
        return [
            await fan_out_round(clients, lambda: trigger.send({"broadcast": frames}))
            for _ in range(repeats)
        ]

    return batch


async def run(config: Config) -> ScenarioResult:
    result = ScenarioResult("4", TITLE)
    sockets = config.scale(1000, 50)
    rounds, repeats = config.scale(8, 2), config.scale(3, 1)
    case = f"{sockets} sockets, one room"
    batches: dict[str, Batch] = {}
    frames = turn_frames()
    missing = server_missing()
    async with broadcast_server() as bare:
        bare_clients = await connect_many([bare.ws_url] * sockets)
        servers: list[ElevateServer] = []
        try:
            if missing is None:
                ours = await ElevateServer.start(
                    "s4", config, settings={"max_connections_per_user": sockets + 10}
                )
                servers.append(ours)
                room = await ours.room(clients_per_user=sockets, users=1)
                frames = await room.capture_turn()
                result.notes.append(
                    f"subscribing {sockets} sockets of one user to one room took "
                    f"{room.subscribe_seconds:.1f} s ({SUBSCRIBE_CONCURRENCY} at a time, until "
                    "the presence frames each join sends to every subscriber stopped)"
                )
                batches[OURS] = ours_batch(room.clients, room, repeats)
                if EXPERIMENT:
                    trial = await ElevateServer.start(
                        "s4x",
                        config,
                        settings={"max_connections_per_user": sockets + 10},
                        app=EXPERIMENT,
                    )
                    servers.append(trial)
                    trial_room = await trial.room(clients_per_user=sockets, users=1)
                    await trial_room.capture_turn()
                    batches[f"{OURS} + {EXPERIMENT}"] = ours_batch(
                        trial_room.clients, trial_room, repeats
                    )
            batches[BARE] = bare_batch(bare_clients, frames, repeats)
            await interleave(batches, 1)
            samples = await interleave(batches, rounds)
        finally:
            await close_all(bare_clients)
            for server in servers:
                await server.stop()
    if missing is not None:
        result.missing(case, OURS, UNIT, missing)
    for system, values in samples.items():
        result.add(case, system, UNIT, values, note=f"{len(frames)} frames per socket per turn")
    result.relate(case, BARE)
    measured, met = compare(
        result.median(case, OURS), result.median(case, BARE), lambda r: r >= 0.5
    )
    result.targets.append(Target("4", "at least half the bare broadcast rate", measured, met))
    return result


def ours_batch(clients: list[Client], room: Any, repeats: int) -> Batch:
    async def batch() -> list[float]:
        return [await fan_out_round(clients, room.send) for _ in range(repeats)]

    return batch
