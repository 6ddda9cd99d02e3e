"""The KPI benchmark still runs: tiny data on SQLite, its rows and targets in the JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_kpi_benchmark_quick_run_reports_every_query(tmp_path: Path) -> None:
    output = tmp_path / "kpis.json"
    # Its own temporary directory: the bench's work files must not meet another run's.
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)}
    env.pop("BENCH_DATABASE_URL", None)
    completed = subprocess.run(
        [sys.executable, "-m", "bench.kpis", "--quick", "--rounds", "1", "--json", str(output)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(output.read_text())
    assert report["quick"] is True and report["size"]["events"] == 20_000
    rows = {(r["backend"], r["query"]): r for r in report["rows"]}
    assert set(rows) == {
        ("SQLite", "reference: count the student's events"),
        ("SQLite", "summary"),
        ("SQLite", "journey funnel"),
        ("SQLite", "course analytics"),
    }
    for row in rows.values():
        assert row["median_ms"] > 0 and row["n"] == 1 and row["target_ms"] == 1000
    assert "| SQLite | journey funnel |" in completed.stdout
