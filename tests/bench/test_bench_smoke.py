"""The benchmark harness still runs: scenario 5 on a tiny configuration, table and JSON out.

Nothing here is timed; the test checks the harness's output has the rows it promises.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_bench(tmp_path: Path, *args: str) -> tuple[str, dict]:
    output = tmp_path / "results.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", str(output), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout, json.loads(output.read_text())


def test_persistence_scenario_prints_and_writes_its_rows(tmp_path: Path) -> None:
    stdout, report = run_bench(tmp_path, "--only", "5")

    (scenario,) = report["scenarios"]
    assert scenario["scenario"] == "5"
    sqlite_rows = {
        row["system"]: row for row in scenario["rows"] if row["case"].startswith("SQLite")
    }
    assert set(sqlite_rows) == {"elevate", "sqlite3 (raw SQL)", "aiosqlite (raw SQL)"}
    for row in sqlite_rows.values():
        assert row["unit"] == "msg/s"
        assert row["median"] > 0 and row["n"] > 0
    assert sqlite_rows["sqlite3 (raw SQL)"]["ratio"] == 1.0
    assert any(t["goal"].startswith("SQLite") for t in scenario["targets"])
    assert "| 5 | SQLite (WAL, synchronous=NORMAL) | elevate | msg/s |" in stdout
    assert report["table"] in stdout


def test_unknown_scenario_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "9", "--json", str(tmp_path / "r.json")],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode != 0
    assert "unknown scenario ['9']" in completed.stderr
