"""`python -m bench`: run the scenarios, print a table of medians, p99s and ratios, write JSON.

Each scenario runs our system and its baselines interleaved in the same process run, so the
ratios compare like with like on a shared, noisy machine.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.harness import Config, ScenarioResult, table

SCENARIOS = {
    "1": "bench.s1_turn",
    "2": "bench.s2_group",
    "3": "bench.s3_websocket",
    "4": "bench.s4_fanout",
    "5": "bench.s5_persistence",
    "6": "bench.s6_long",
    "7": "bench.s7_processes",
    "recall": "bench.recall",
}
HERE = Path(__file__).parent
DEFAULT_JSON = HERE / "results.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny loops: checks it runs")
    parser.add_argument(
        "--only", default="", help="comma-separated scenario numbers, e.g. 1,5 (default: all)"
    )
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write results")
    parser.add_argument(
        "--database-url",
        # Never DATABASE_URL: the bench wipes this database, and that one holds real data.
        default=os.environ.get("BENCH_DATABASE_URL"),
        help="PostgreSQL for the PostgreSQL cases (default: $BENCH_DATABASE_URL); its public "
        "schema is dropped and recreated",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL"),
        help="Redis for scenario 7 (default: $BENCH_REDIS_URL)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="directory for cProfile dumps of scenarios 1 and 3 (run once more, profiled: "
        "the bench process, and the server process of scenario 3)",
    )
    return parser.parse_args(argv)


def selected(only: str) -> list[str]:
    if not only:
        return list(SCENARIOS)
    wanted = sorted(
        {part.strip() for part in only.split(",") if part.strip()}, key=lambda w: (len(w), w)
    )
    unknown = [w for w in wanted if w not in SCENARIOS]
    if unknown:
        raise SystemExit(f"--only: unknown scenario {unknown}; expected some of {list(SCENARIOS)}")
    return wanted


async def run_one(number: str, config: Config) -> ScenarioResult:
    """One scenario; a crash becomes a note on its result so the other scenarios still run."""
    try:
        module = importlib.import_module(SCENARIOS[number])
        return await module.run(config)
    except Exception as exc:
        result = ScenarioResult(number, f"scenario {number}")
        result.notes.append(f"failed: {type(exc).__name__}: {exc}")
        traceback.print_exc()
        return result


def revision() -> str:
    """The commit measured, with `+dirty` when the working tree has uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
            cwd=HERE,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=False,
            cwd=HERE,
        ).stdout.strip()
    except OSError:
        return "unknown"
    if not head:
        return "unknown"
    return head + ("+dirty" if dirty else "")


def machine() -> dict[str, Any]:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


async def main_async(args: argparse.Namespace) -> list[ScenarioResult]:
    config = Config(quick=args.quick, database_url=args.database_url, redis_url=args.redis_url)
    results = []
    for number in selected(args.only):
        started = time.perf_counter()
        print(f"scenario {number} ...", file=sys.stderr, flush=True)
        result = await run_one(number, config)
        print(f"scenario {number} done in {time.perf_counter() - started:.1f}s", file=sys.stderr)
        results.append(result)
    return results


def profile(directory: Path, args: argparse.Namespace) -> None:
    """Run scenarios 1 and 3 once more with profiling on: scenario 1 profiles our turns in
    this process, scenario 3 the server process (both write cProfile dumps to `directory`)."""
    directory.mkdir(parents=True, exist_ok=True)
    config = Config(
        quick=args.quick,
        database_url=args.database_url,
        redis_url=args.redis_url,
        profile_dir=directory,
    )
    for number in ("1", "3"):
        asyncio.run(run_one(number, config))
    print(f"profiles written to {directory}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    results = asyncio.run(main_async(args))
    text = table(results)
    print(text)
    for result in results:
        for note in result.notes:
            print(f"scenario {result.scenario}: {note}")
    report = {
        "date": started.isoformat(timespec="seconds"),
        "revision": revision(),
        "machine": machine(),
        "quick": args.quick,
        "scenarios": [r.to_dict() for r in results],
        "table": text,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    if args.profile is not None:
        profile(args.profile, args)
    return 0
