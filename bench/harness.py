"""Measuring on a noisy shared machine: interleaved batches, medians, p99s, same-run ratios.

Every scenario runs our system and its baselines in alternating batches (the order rotates each
round), so a burst of noise from a neighbour lands on all of them alike. Only medians, p99s and
ratios between systems measured in the same run are reported; absolute numbers mean little here.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

OURS = "elevate"

Batch = Callable[[], Awaitable[list[float]]]


@dataclass(frozen=True)
class Config:
    """How much to measure: `quick` shrinks every loop so the whole harness runs in seconds."""

    quick: bool = False
    database_url: str | None = None
    redis_url: str | None = None
    profile_dir: Path | None = None

    def scale(self, full: int, quick: int) -> int:
        return quick if self.quick else full


@dataclass(frozen=True)
class Stats:
    median: float
    p99: float
    n: int


def stats(samples: Sequence[float], *, rate: bool = False) -> Stats:
    """Median and p99 (nearest rank) of a list of samples.

    For a cost (ms) the p99 is the slow tail, the 99th percentile; for a `rate` (per second) it
    is the slow tail too, which is the 1st percentile: the rate 99% of batches exceeded.
    """
    if not samples:
        raise ValueError("stats() needs at least one sample, got an empty list")
    ordered = sorted(samples, reverse=rate)
    rank = max(0, math.ceil(0.99 * len(ordered)) - 1)
    return Stats(statistics.median(ordered), ordered[rank], len(ordered))


@dataclass
class Row:
    """One system measured in one case. `ratio` is its median over the median of the case's
    reference row (the one a target compares against)."""

    scenario: str
    case: str
    system: str
    unit: str
    median: float | None
    p99: float | None
    n: int
    ratio: float | None = None
    note: str = ""


@dataclass
class Target:
    """A goal from the issue, what was measured against it, and whether it was met."""

    scenario: str
    goal: str
    measured: str
    met: bool | None


@dataclass
class ScenarioResult:
    scenario: str
    title: str
    rows: list[Row] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(
        self, case: str, system: str, unit: str, samples: Sequence[float], note: str = ""
    ) -> Row:
        measured = stats(samples, rate=unit.endswith("/s"))
        row = Row(self.scenario, case, system, unit, measured.median, measured.p99, measured.n)
        row.note = note
        self.rows.append(row)
        return row

    def missing(self, case: str, system: str, unit: str, why: str) -> Row:
        """A row for a system that could not run (a piece not built yet, a service absent)."""
        row = Row(self.scenario, case, system, unit, None, None, 0, note=why)
        self.rows.append(row)
        return row

    def relate(self, case: str, reference: str) -> None:
        """Fill `ratio` = this row's median / the reference row's median, for one case."""
        rows = [r for r in self.rows if r.case == case]
        base = next((r for r in rows if r.system == reference), None)
        if base is None or not base.median:
            return
        for row in rows:
            if row.median is not None:
                row.ratio = row.median / base.median
        base.note = "; ".join(filter(None, ["reference", base.note]))

    def median(self, case: str, system: str) -> float | None:
        row = next((r for r in self.rows if r.case == case and r.system == system), None)
        return row.median if row is not None else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


async def interleave(batches: dict[str, Batch], rounds: int) -> dict[str, list[float]]:
    """Run each system's batch `rounds` times, rotating the order, and pool the samples."""
    names = list(batches)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].extend(await batches[name]())
    return samples


def compare(
    measured: float | None, reference: float | None, goal: Callable[[float], bool]
) -> tuple[str, bool | None]:
    """`measured / reference` as text and whether it meets `goal`; unknown if either is missing."""
    if measured is None or not reference:
        return "not measured", None
    ratio = measured / reference
    return f"{ratio:.2f}x", goal(ratio)


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if value >= 0.01 else f"{value:.2e}"


def table(results: Sequence[ScenarioResult]) -> str:
    """A Markdown table of every row, then the targets; the same text goes into RESULTS.md."""
    lines = [
        "| # | case | system | unit | median | p99 | n | ratio | note |",
        "|---|------|--------|------|-------:|----:|--:|------:|------|",
    ]
    for result in results:
        for r in result.rows:
            ratio = f"{r.ratio:.2f}" if r.ratio is not None else "-"
            lines.append(
                f"| {r.scenario} | {r.case} | {r.system} | {r.unit} | {fmt(r.median)} | "
                f"{fmt(r.p99)} | {r.n} | {ratio} | {r.note} |"
            )
    targets = [t for result in results for t in result.targets]
    if targets:
        lines += ["", "| # | target | measured | met |", "|---|--------|----------|-----|"]
        for t in targets:
            met = {True: "yes", False: "NO", None: "not measured"}[t.met]
            lines.append(f"| {t.scenario} | {t.goal} | {t.measured} | {met} |")
    return "\n".join(lines)
