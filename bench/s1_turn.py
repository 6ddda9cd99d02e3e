"""Scenario 1, agent turn overhead: one human message to one agent, until the turn has ended.

Ours (on SQLite, and on PostgreSQL when given) goes the whole way in-process: the message
stored, the agent's graph run, deltas and the final message published on the bus and consumed
by a subscriber, the turn and the reply stored. The baselines do only the model call: a bare
one-node LangGraph graph (nothing stored) and an AutoGen `RoundRobinGroupChat` of one
`AssistantAgent` (`run` per turn, history kept in memory).
"""

from __future__ import annotations

import cProfile
import time

from bench.baselines import REPLY, autogen_team, bare_langgraph, fake_model, reset_autogen
from bench.elevate import ElevateRoom, product_missing
from bench.fixtures import is_postgres
from bench.harness import OURS, Batch, Config, ScenarioResult, Target, compare, interleave

TITLE = "Agent turn overhead: one message to one agent, until turn end"
UNIT = "ms/turn"
CASE = "one agent turn (in-process)"
LANGGRAPH = "langgraph (bare graph)"
AUTOGEN = "autogen RoundRobinGroupChat"
OURS_PG = f"{OURS} (PostgreSQL)"
OURS_TRACED = f"{OURS}, tracing on"
PROMPT = "What should I write in the hook of my landing page?"


def _timed_turns(turns: int, turn) -> Batch:
    async def batch() -> list[float]:
        samples = []
        for _ in range(turns):
            started = time.perf_counter()
            await turn()
            samples.append((time.perf_counter() - started) * 1000)
        return samples

    return batch


def langgraph_batch(turns: int) -> Batch:
    graph_turn = bare_langgraph(fake_model())

    async def turn() -> None:
        if await graph_turn(PROMPT) != REPLY:
            raise AssertionError("the bare graph did not stream the whole reply")

    return _timed_turns(turns, turn)


def autogen_batch(turns: int) -> Batch:
    team = autogen_team(agents=1, max_turns=1, replies=turns)
    timed = _timed_turns(turns, lambda: team.run(task=PROMPT))

    async def batch() -> list[float]:
        await reset_autogen(team)
        return await timed()

    return batch


def ours_batch(room: ElevateRoom, turns: int, profiler: cProfile.Profile | None) -> Batch:
    async def turn() -> None:
        await room.turn(PROMPT)

    timed = _timed_turns(turns, turn)
    if profiler is None:
        return timed

    async def profiled() -> list[float]:
        profiler.enable()
        try:
            return await timed()
        finally:
            profiler.disable()

    return profiled


async def run(config: Config) -> ScenarioResult:
    result = ScenarioResult("1", TITLE)
    turns, rounds = config.scale(50, 5), config.scale(12, 2)
    batches: dict[str, Batch] = {}
    missing = product_missing()
    room = pg_room = None
    profiler = cProfile.Profile() if config.profile_dir else None
    if missing is None:
        room = await ElevateRoom.create("s1", config, agents=1)
        batches[OURS] = ours_batch(room, turns, profiler)
        batches[OURS_TRACED] = traced_batch(ours_batch(room, turns, None))
        if is_postgres(config.database_url):
            pg_room = await ElevateRoom.create("s1", config, agents=1, postgres=True)
            batches[OURS_PG] = ours_batch(pg_room, turns, None)
    batches[LANGGRAPH] = langgraph_batch(turns)
    batches[AUTOGEN] = autogen_batch(turns)
    try:
        # One untimed round first: imports, graph compilation and caches warm up for everyone.
        await interleave({name: _first(batch) for name, batch in batches.items()}, 1)
        samples = await interleave(batches, rounds)
        if room is not None:
            transactions, statements = await room.count_sql(10, PROMPT)
            result.notes.append(
                f"ours: {transactions:.1f} transactions and {statements:.1f} SQL statements "
                "per turn (SQLite)"
            )
    finally:
        for opened in (room, pg_room):
            if opened is not None:
                await opened.close()
    if profiler is not None and config.profile_dir is not None:
        profiler.dump_stats(config.profile_dir / "s1_turns.prof")
    if missing is not None:
        result.missing(CASE, OURS, UNIT, missing)
    for system, values in samples.items():
        result.add(CASE, system, UNIT, values)
    result.relate(CASE, AUTOGEN)
    measured, met = compare(
        result.median(CASE, OURS), result.median(CASE, AUTOGEN), lambda r: r <= 1.0
    )
    result.targets.append(Target("1", "per-turn cost at or below AutoGen's", measured, met))
    if missing is None:
        measured, met = compare(
            result.median(CASE, OURS_TRACED), result.median(CASE, OURS), lambda r: r <= 1.10
        )
        result.targets.append(Target("1", "tracing on within 10% of tracing off", measured, met))
    return result


def traced_batch(batch: Batch) -> Batch:
    """`batch` with tracing on: the SDK, a batch processor and an exporter that drops the spans
    (what a process pays before the network), switched off again after the batch."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    from runtime import tracing

    class Discard(SpanExporter):
        def export(self, spans):  # type: ignore[no-untyped-def]
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Discard()))

    async def traced() -> list[float]:
        tracing.use(provider)
        try:
            return await batch()
        finally:
            tracing.use(None)

    return traced


def _first(batch: Batch) -> Batch:
    async def warm() -> list[float]:
        await batch()
        return []

    return warm
