"""Scenario 2, group chat: three agents take twenty turns in round robin after one message.

AutoGen: a `RoundRobinGroupChat` of three streaming `AssistantAgent`s with `max_turns=20`.
Ours: a conversation with policy `round_robin` and `max_agent_turns=20`, in which each agent's
reply hands over to the next agent by @mention, so one human message causes twenty agent turns
(each stored and announced), ended by the loop guard, as AutoGen's is by `max_turns`.
"""

from __future__ import annotations

import time

from bench.baselines import REPLY, autogen_team, reset_autogen
from bench.elevate import ElevateRoom, product_missing, scripted_model_name
from bench.fixtures import unique_handles
from bench.harness import OURS, Batch, Config, ScenarioResult, interleave

TITLE = "Group chat: 3 agents, 20 turns, round robin"
UNIT = "turns/s"
AGENTS, TURNS = 3, 20
CASE = f"{AGENTS} agents x {TURNS} turns"
AUTOGEN = "autogen RoundRobinGroupChat"
PROMPT = "Let us plan the launch email together, one idea each."


def autogen_batch(conversations: int) -> Batch:
    team = autogen_team(agents=AGENTS, max_turns=TURNS, replies=TURNS)

    async def batch() -> list[float]:
        samples = []
        for _ in range(conversations):
            await reset_autogen(team)
            started = time.perf_counter()
            result = await team.run(task=PROMPT)
            samples.append(TURNS / (time.perf_counter() - started))
            if len(result.messages) != TURNS + 1:
                raise AssertionError(f"AutoGen took {len(result.messages) - 1} turns")
        return samples

    return batch


async def ours(config: Config) -> tuple[ElevateRoom, Batch]:
    handles = unique_handles(AGENTS, "ring")
    models = [
        scripted_model_name(f"@{handles[(i + 1) % AGENTS]} over to you. {REPLY}", f"ring{i}")
        for i in range(AGENTS)
    ]
    policy = {"speaker": "round_robin", "max_agent_turns": TURNS}
    elevate = await ElevateRoom.create(
        "s2", config, agents=AGENTS, models=models, handles=handles, policy=policy
    )

    async def batch() -> list[float]:
        started = time.perf_counter()
        turns = await elevate.turn(PROMPT)
        if turns != TURNS:
            raise AssertionError(f"our group chat took {turns} turns, expected {TURNS}")
        return [TURNS / (time.perf_counter() - started)]

    return elevate, batch


async def run(config: Config) -> ScenarioResult:
    result = ScenarioResult("2", TITLE)
    rounds = config.scale(10, 2)
    batches: dict[str, Batch] = {}
    missing = product_missing()
    elevate = None
    if missing is None:
        elevate, batches[OURS] = await ours(config)
    batches[AUTOGEN] = autogen_batch(1)
    try:
        await interleave(batches, 1)
        samples = await interleave(batches, rounds)
    finally:
        if elevate is not None:
            await elevate.close()
    if missing is not None:
        result.missing(CASE, OURS, UNIT, missing)
    for system, values in samples.items():
        result.add(CASE, system, UNIT, values)
    result.relate(CASE, AUTOGEN)
    result.notes.append(
        "ours stores and announces every turn and the loop guard's note; AutoGen keeps the "
        "conversation in memory"
    )
    return result
